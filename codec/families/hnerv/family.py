"""HNeRV's :class:`~codec.family.Family` (model and paper: :mod:`codec.families.hnerv`): the
network's size for a budget, and the decoder's inputs: each frame's embedding, read from the stream."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_EMBEDDINGS
from bitstream.records.tensorlist import unpack_tensors
from codec.family import ChunkSource, Geometry
from codec.families.hnerv import STREAMS, SUMMARY
from codec.families.hnerv.ladder import LADDER
from codec.families.hnerv.config import HnervConfig
from codec.families.hnerv.net import HnervDecoderNet
from codec.tools.blocks import base_grid, plan_strides, stage_channels
from codec.tools.fitoptions import MAX_PARAMS
from codec.tools.dequantize import dequantize
from codec.tools.wholeclip import WholeVideoFamily, find_chunk


class HnervFamily(WholeVideoFamily):
    name = "hnerv"
    family_id = 2
    config_cls = HnervConfig
    summary = SUMMARY
    streams = STREAMS
    #: Measured estimate/file 0.88 on the check encode (what training does not count: the header,
    #: step sizes and entropy-model tables); 1.06 on the contract's quick encode.
    rate_estimate_tolerance = 0.25
    ladder = LADDER
    lr = 5e-3

    def build_config(self, width: float, geometry: Geometry, trunk: int = 0) -> HnervConfig:
        stages = 5
        strides = plan_strides(geometry.height, geometry.width, stages, target_cells=24)
        return HnervConfig(
            embed_dim=16,
            channels=stage_channels(max(4, round(64 * width)), stages, ratio=1.2, floor=4),
            strides=strides,
            kernels=tuple(min(1 + 2 * i, 3) for i in range(stages)),
            trunk=trunk,
        )

    def build_net(self, config: HnervConfig, geometry: Geometry) -> nn.Module:
        return HnervDecoderNet(config, geometry)

    def trainable(self, config: HnervConfig, geometry: Geometry, frames: torch.Tensor,
                  post_bits: int | None = None) -> nn.Module:
        from codec.families.hnerv.encode import HnervTrainable

        return HnervTrainable(config, geometry, frames, post_bits)

    def decoder_inputs(self, config: HnervConfig, geometry: Geometry, stream: ChunkSource,
                       device: torch.device) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
        """Every frame's dequantized embedding, from the stream's one embeddings chunk, and the
        frames' indices."""
        index = find_chunk(stream, CHUNK_EMBEDDINGS)
        info = stream.chunks[index]
        h0, w0 = base_grid(geometry.height, geometry.width, config.strides)
        expected = (geometry.num_frames, config.embed_dim, h0, w0)
        if math.prod(expected) > MAX_PARAMS:  # a header's frame count must not size an allocation alone
            raise BitstreamError(f"embeddings of {math.prod(expected)} values exceed the limit of {MAX_PARAMS}",
                                 chunk=index)
        (record,) = unpack_tensors(stream.read_chunk(index), [expected], index, info.payload_offset)
        emb = torch.from_numpy(dequantize(record)).to(device)
        return lambda start, stop: (emb[start:stop], torch.arange(start, stop, device=device))

    def render_inputs(self, config: HnervConfig, geometry: Geometry, batch: int) -> tuple[torch.Tensor, ...]:
        """``batch`` frames' embeddings and indices (their shapes: what :meth:`decode_memory` sizes)."""
        h0, w0 = base_grid(geometry.height, geometry.width, config.strides)
        return torch.zeros(batch, config.embed_dim, h0, w0), torch.arange(batch)

    def stored_inputs(self, config: HnervConfig, geometry: Geometry) -> int:
        """Every frame's embedding (:meth:`decoder_inputs` refuses more than ``MAX_PARAMS`` values)."""
        h0, w0 = base_grid(geometry.height, geometry.width, config.strides)
        values = geometry.num_frames * config.embed_dim * h0 * w0
        if values > MAX_PARAMS:
            raise BitstreamError(f"embeddings of {values} values exceed the limit of {MAX_PARAMS}")
        return values


FAMILY = HnervFamily()
