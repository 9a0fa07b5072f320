"""``nerv``: NeRV, "Neural Representations for Videos" (Chen et al., NeurIPS 2021).

Frame index ``t`` -> positional encoding -> MLP stem to a ``c0 x h0 x w0`` map -> NeRV blocks
(Conv3x3 -> PixelShuffle -> GELU) -> RGB. Differences from the paper, all measured choices for
small clips on CPUs: the number of encoding levels follows the clip length (NeRV uses 40-80 for
hundreds of frames), channels shrink by 1.4 per stage (NeRV halves them, floor 96), and weights
are quantized during training (NeRV prunes and quantizes after training and writes no file).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from codec.family import ChunkSource, Geometry
from codec.models.blocks import (
    PositionalEncoding,
    UpsampleTrunk,
    base_grid,
    check_stages,
    plan_strides,
    stage_channels,
)
from codec.models.whole import QuantizedNetwork, WholeVideoFamily
from codec.registry import FAMILY_IDS, register


@dataclass(frozen=True)
class NervConfig:
    pe_levels: int
    hidden: int
    c0: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    kernels: tuple[int, ...]

    def __post_init__(self) -> None:
        if not (1 <= self.pe_levels <= 128 and 1 <= self.hidden <= 8192 and 1 <= self.c0 <= 4096):
            raise ValueError("NeRV stem sizes out of range")
        check_stages("NeRV", self.strides, self.channels, self.kernels)


class NervNet(nn.Module):
    """The decoder network: frame indices (B,) -> frames (B,3,H,W)."""

    def __init__(self, cfg: NervConfig, geometry: Geometry) -> None:
        super().__init__()
        self.num_frames = geometry.num_frames
        self.h0, self.w0 = base_grid(geometry.height, geometry.width, cfg.strides)
        self.c0 = cfg.c0
        self.pe = PositionalEncoding(cfg.pe_levels)
        self.stem = nn.Sequential(
            nn.Linear(self.pe.dim, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.c0 * self.h0 * self.w0),
            nn.GELU(),
        )
        self.trunk = UpsampleTrunk(
            cfg.c0, cfg.channels, cfg.strides, cfg.kernels, geometry.height, geometry.width
        )

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.float() / max(1, self.num_frames - 1)
        x = self.stem(self.pe(t)).view(-1, self.c0, self.h0, self.w0)
        return self.trunk(x)


class NervTrainable(nn.Module):
    def __init__(self, net: NervNet, post_bits: int | None = None) -> None:
        super().__init__()
        self.qnet = QuantizedNetwork(net, post_bits)

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.qnet.run(idx)

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.qnet.bits(noise)

    def chunks(self, frames: torch.Tensor) -> list[tuple[int, bytes]]:
        return [self.qnet.network_chunk()]


def pe_levels_for(num_frames: int) -> int:
    """Enough levels that the highest frequency resolves single frames, plus a margin."""
    return int(min(80, max(8, math.ceil(math.log(max(num_frames, 2)) / math.log(1.25)) + 4)))


class NervFamily(WholeVideoFamily):
    name = "nerv"
    family_id = FAMILY_IDS["nerv"]
    config_cls = NervConfig
    lr = 1e-2
    batch = 2

    def build_config(self, width: float, geometry: Geometry) -> NervConfig:
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
        )

    def build_net(self, config: NervConfig, geometry: Geometry) -> nn.Module:
        return NervNet(config, geometry)

    def trainable(self, config: NervConfig, geometry: Geometry, frames: torch.Tensor,
                  post_bits: int | None = None) -> nn.Module:
        return NervTrainable(NervNet(config, geometry), post_bits)

    def decoder_inputs(self, config: NervConfig, geometry: Geometry, stream: ChunkSource,
                       device: torch.device) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
        return lambda start, stop: (torch.arange(start, stop, device=device),)


register(NervFamily())
