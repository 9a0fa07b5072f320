"""The ``hnerv`` decoder network (HNeRV, Chen et al., CVPR 2023), with the trunk variants of
Boosting-NeRV and NeRV++ that ``HnervConfig.trunk`` selects (:mod:`codec.tools.blocks`)."""

from __future__ import annotations

import torch
from torch import nn

from codec.family import Geometry
from codec.families.hnerv.config import HnervConfig
from codec.tools.blocks import UpsampleTrunk, frame_time, pe_levels_for


class HnervDecoderNet(nn.Module):
    """Embeddings (B, embed_dim, h0, w0) and their frame indices (B,) -> frames (B,3,H,W). The
    indices matter only to a trunk with affine transforms (their time embedding encodes
    ``pe_levels_for(N)`` levels)."""

    def __init__(self, cfg: HnervConfig, geometry: Geometry) -> None:
        super().__init__()
        self.num_frames = geometry.num_frames
        self.trunk = UpsampleTrunk(
            cfg.embed_dim, cfg.channels, cfg.strides, cfg.kernels, geometry.height, geometry.width,
            trunk=cfg.trunk, time_levels=pe_levels_for(geometry.num_frames),
        )

    def forward(self, emb: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return self.trunk(*self.trunk_input(emb, idx))

    def trunk_input(self, emb: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The trunk's base map (the embeddings) and the frames' times."""
        return emb, frame_time(idx, self.num_frames)
