"""NeRV's :class:`~codec.family.Family` (model and paper: :mod:`codec.families.nerv`): the
network's size for a budget, and the frame indices the decoder takes as input."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from codec.family import ChunkSource, Geometry
from codec.families.nerv import STREAMS, SUMMARY
from codec.families.nerv.ladder import LADDER
from codec.families.nerv.config import NervConfig
from codec.families.nerv.net import NervNet
from codec.tools.blocks import pe_levels_for, plan_strides, stage_channels
from codec.tools.wholeclip import WholeVideoFamily


class NervFamily(WholeVideoFamily):
    name = "nerv"
    family_id = 1
    config_cls = NervConfig
    summary = SUMMARY
    streams = STREAMS
    #: Measured estimate/file 0.83 on the check encode (1436 of 1730 bytes: the header, step sizes
    #: and entropy-model tables are not in training's count); 1.02 on the contract's quick encode.
    rate_estimate_tolerance = 0.3
    ladder = LADDER
    lr = 1e-2

    def build_config(self, width: float, geometry: Geometry, trunk: int = 0) -> NervConfig:
        stages = 4 if geometry.width * geometry.height <= 400 * 400 else 5
        strides = plan_strides(geometry.height, geometry.width, stages, target_cells=100)
        first = max(4, round(32 * width))
        return NervConfig(
            pe_levels=pe_levels_for(geometry.num_frames),
            hidden=max(8, round(64 * width)),
            c0=first,
            channels=stage_channels(first, stages, ratio=1.4, floor=4),
            strides=strides,
            kernels=(3,) * stages,
            trunk=trunk,
        )

    def build_net(self, config: NervConfig, geometry: Geometry) -> nn.Module:
        return NervNet(config, geometry)

    def trainable(self, config: NervConfig, geometry: Geometry, frames: torch.Tensor,
                  post_bits: int | None = None) -> nn.Module:
        from codec.families.nerv.encode import NervTrainable

        return NervTrainable(NervNet(config, geometry), post_bits)

    def decoder_inputs(self, config: NervConfig, geometry: Geometry, stream: ChunkSource,
                       device: torch.device) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
        return lambda start, stop: (torch.arange(start, stop, device=device),)


FAMILY = NervFamily()
