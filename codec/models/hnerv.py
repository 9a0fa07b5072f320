"""``hnerv``: HNeRV, "A Hybrid Neural Representation for Videos" (Chen et al., CVPR 2023).

A ConvNeXt-style encoder (patchify convs with kernel = stride, Liu et al. 2022) turns each frame
into a tiny embedding (``embed_dim x h0 x w0``); the decoder maps it through HNeRV blocks
(Conv(k) -> PixelShuffle -> GELU, channels divided by 1.2 per stage) to RGB with
``tanh * 0.5 + 0.5``. The stream holds the decoder's weights and every frame's quantized
embedding; the encoder is not stored. Differences from the paper: kernels are
``min(1 + 2i, 3)`` instead of ``min(1 + 2i, 5)`` (cheaper on CPUs), the strides follow the
frame size (HNeRV crops UVG to 960x1920), and everything is quantized during training with a
rate term (HNeRV rounds to 8-bit weights / 6-bit embeddings after training).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bitstream import BitstreamError
from codec.family import CHUNK_EMBEDDINGS, ChunkSource, Geometry, pack_tensors, unpack_tensors
from codec.fit import frames_to_tensor
from codec.models.blocks import UpsampleTrunk, base_grid, check_stages, plan_strides, stage_channels
from codec.models.whole import QuantizedNetwork, WholeVideoFamily, find_chunk
from codec.quant import TensorQuantizer, dequantize
from codec.registry import FAMILY_IDS, register


@dataclass(frozen=True)
class HnervConfig:
    embed_dim: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    kernels: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.embed_dim <= 256:
            raise ValueError("HNeRV embedding size out of range")
        check_stages("HNeRV", self.strides, self.channels, self.kernels)


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 -> channel LayerNorm -> 1x1 (4x) -> GELU -> 1x1, residual (ConvNeXt)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 4 * dim, 1), nn.GELU(), nn.Conv2d(4 * dim, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(self.dw(x)))


class HnervEncoder(nn.Module):
    """Frames (B,3,H,W) -> embeddings (B, embed_dim, h0, w0). Trained with the decoder, not stored."""

    def __init__(self, cfg: HnervConfig, geometry: Geometry) -> None:
        super().__init__()
        h0, w0 = base_grid(geometry.height, geometry.width, cfg.strides)
        self.pad_h, self.pad_w = h0 * math.prod(cfg.strides), w0 * math.prod(cfg.strides)
        layers, c = [], 3
        strides = tuple(reversed(cfg.strides))  # downsampling mirrors the decoder
        for i, s in enumerate(strides):
            cout = min(64, 16 * 2**i)
            layers += [nn.Conv2d(c, cout, s, stride=s), nn.GELU()]
            if i >= len(strides) - 2:
                layers.append(ConvNeXtBlock(cout))
            c = cout
        layers.append(nn.Conv2d(c, cfg.embed_dim, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (0, self.pad_w - w, 0, self.pad_h - h), mode="replicate")
        return self.layers(x)


class HnervDecoderNet(nn.Module):
    """Embeddings (B, embed_dim, h0, w0) -> frames (B,3,H,W)."""

    def __init__(self, cfg: HnervConfig, geometry: Geometry) -> None:
        super().__init__()
        self.trunk = UpsampleTrunk(
            cfg.embed_dim, cfg.channels, cfg.strides, cfg.kernels, geometry.height, geometry.width
        )

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.trunk(emb)


class HnervTrainable(nn.Module):
    """Encoder + quantized decoder + quantized embeddings."""

    def __init__(self, cfg: HnervConfig, geometry: Geometry, frames: torch.Tensor,
                 post_bits: int | None = None) -> None:
        super().__init__()
        self.num_frames = geometry.num_frames
        self.encoder = HnervEncoder(cfg, geometry)
        self.qnet = QuantizedNetwork(HnervDecoderNet(cfg, geometry), post_bits)
        with torch.no_grad():
            sample = self.encoder(frames_to_tensor(frames[: min(4, len(frames))], torch.device("cpu")))
        self.emb_quant = TensorQuantizer(sample, init_bits=6.0, post_bits=post_bits)
        self._emb: torch.Tensor | None = None

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        emb = self.encoder(target)
        self._emb = emb
        return self.qnet.run(self.emb_quant.quantize(emb))

    def rate_bits(self, noise: bool) -> torch.Tensor:
        bits = self.qnet.bits(noise)
        if self._emb is not None:  # this batch's embeddings, scaled to the whole clip
            bits = bits + self.emb_quant.bits(self._emb, noise) * (self.num_frames / len(self._emb))
        return bits

    def chunks(self, frames: torch.Tensor) -> list[tuple[int, bytes]]:
        device = next(self.parameters()).device
        embs = [self.encoder(frames_to_tensor(frames[i : i + 4], device)) for i in range(0, len(frames), 4)]
        record = self.emb_quant.export(torch.cat(embs))
        return [self.qnet.network_chunk(), (CHUNK_EMBEDDINGS, pack_tensors([record]))]


class HnervFamily(WholeVideoFamily):
    name = "hnerv"
    family_id = FAMILY_IDS["hnerv"]
    config_cls = HnervConfig
    lr = 5e-3
    batch = 2

    def build_config(self, width: float, geometry: Geometry) -> HnervConfig:
        stages = 5
        strides = plan_strides(geometry.height, geometry.width, stages, target_cells=24)
        return HnervConfig(
            embed_dim=16,
            channels=stage_channels(max(4, round(64 * width)), stages, ratio=1.2, floor=4),
            strides=strides,
            kernels=tuple(min(1 + 2 * i, 3) for i in range(stages)),
        )

    def build_net(self, config: HnervConfig, geometry: Geometry) -> nn.Module:
        return HnervDecoderNet(config, geometry)

    def trainable(self, config: HnervConfig, geometry: Geometry, frames: torch.Tensor,
                  post_bits: int | None = None) -> nn.Module:
        return HnervTrainable(config, geometry, frames, post_bits)

    def decoder_inputs(self, config: HnervConfig, geometry: Geometry, stream: ChunkSource,
                       device: torch.device) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
        index = find_chunk(stream, CHUNK_EMBEDDINGS)
        info = stream.chunks[index]
        (record,) = unpack_tensors(stream.read_chunk(index), 1, index, info.payload_offset)
        h0, w0 = base_grid(geometry.height, geometry.width, config.strides)
        expected = (geometry.num_frames, config.embed_dim, h0, w0)
        if tuple(record.shape) != expected:
            raise BitstreamError(f"embeddings have shape {record.shape}, expected {expected}", chunk=index)
        emb = torch.from_numpy(dequantize(record)).to(device)
        return lambda start, stop: (emb[start:stop],)


register(HnervFamily())
