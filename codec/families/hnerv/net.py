"""The ``hnerv`` decoder network (HNeRV, Chen et al., CVPR 2023)."""

from __future__ import annotations

import torch
from torch import nn

from codec.family import Geometry
from codec.families.hnerv.config import HnervConfig
from codec.tools.blocks import UpsampleTrunk


class HnervDecoderNet(nn.Module):
    """Embeddings (B, embed_dim, h0, w0) -> frames (B,3,H,W)."""

    def __init__(self, cfg: HnervConfig, geometry: Geometry) -> None:
        super().__init__()
        self.trunk = UpsampleTrunk(
            cfg.embed_dim, cfg.channels, cfg.strides, cfg.kernels, geometry.height, geometry.width
        )

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.trunk(emb)
