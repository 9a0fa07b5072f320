"""The ``nerv`` decoder network (NeRV, Chen et al., NeurIPS 2021), with the trunk variants of
Boosting-NeRV and NeRV++ that ``NervConfig.trunk`` selects (:mod:`codec.tools.blocks`)."""

from __future__ import annotations

import torch
from torch import nn

from codec.family import Geometry
from codec.families.nerv.config import NervConfig
from codec.tools.blocks import PositionalEncoding, UpsampleTrunk, base_grid, frame_time


class NervNet(nn.Module):
    """Frame indices (B,) -> frames (B,3,H,W)."""

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
            cfg.c0, cfg.channels, cfg.strides, cfg.kernels, geometry.height, geometry.width,
            trunk=cfg.trunk, time_levels=cfg.pe_levels,
        )

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.trunk(*self.trunk_input(idx))

    def trunk_input(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The trunk's base map and the frames' times (what a decoder renders in strips from)."""
        t = frame_time(idx, self.num_frames)
        return self.stem(self.pe(t)).view(-1, self.c0, self.h0, self.w0), t
