"""Training side of ``hnerv``: the frame encoder (not stored), the quantized decoder and the
quantized embeddings."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bitstream.records.kinds import CHUNK_EMBEDDINGS
from bitstream.records.tensorlist import pack_tensors
from codec.family import Geometry
from codec.families.hnerv.config import HnervConfig
from codec.families.hnerv.net import HnervDecoderNet
from codec.tools.blocks import base_grid
from codec.tools.fit import frames_to_tensor
from codec.tools.qat import QuantizedNetwork, TensorQuantizer


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
        return self.qnet.run(self.emb_quant.quantize(emb), idx)

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
