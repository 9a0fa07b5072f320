"""The per-group network of ``nirvana``.

NIRVANA (Maiya et al., "NIRVANA: Neural Implicit Representations of Videos with Adaptive Networks
and Autoregressive Patch-wise Modeling", CVPR 2023) cuts a video into groups of ``G`` frames and
each frame into ``P x P`` patches (:class:`codec.tools.patches.PatchGrid`). One small network per
group maps a patch's coordinates to that patch in all ``G`` frames at once:

    (row, col) -> positional encoding -> MLP stem (sine activations, SIREN-style)
    -> c0 x b x b map -> NeRV blocks (Conv3x3 -> PixelShuffle -> GELU) -> Conv3x3 to 3G channels
    -> tanh * 0.5 + 0.5 -> G patches of P x P.

The trunk is shared by the group's ``G`` frames (only the last conv is per frame), which is where
the method's speed comes from: a step trains ``G`` frames of each sampled patch for the price of
one trunk pass.
"""

from __future__ import annotations

import torch
from torch import nn

from codec.families.nirvana.config import NirvanaConfig
from codec.tools.blocks import NervBlock, PositionalEncoding, unit_output
from codec.tools.patches import PatchGrid


class Sine(nn.Module):
    """``sin(omega * x)``: the periodic activation of SIREN (Sitzmann et al., NeurIPS 2020)."""

    def __init__(self, omega: float) -> None:
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


class NirvanaNet(nn.Module):
    """One group's decoder network: patch indices (B,) -> (B, 3 G, P, P) in [0, 1], frame-major
    channels (frame ``t`` is channels ``3 t .. 3 t + 2``).

    The convolutions run channels-last (measured on one AVX-512 core, carphone's head conv, 99
    patches: 3.6 against 5.2 ms forward and backward), so the output is a channels-last tensor,
    which :meth:`PatchGrid.tubes` lays the targets out to match."""

    def __init__(self, cfg: NirvanaConfig, grid: PatchGrid) -> None:
        super().__init__()
        self.cfg, self.grid = cfg, grid
        self.pe = PositionalEncoding(cfg.pe_levels)
        omega = cfg.omega / 100.0
        layers: list[nn.Module] = []
        width = 2 * self.pe.dim
        for _ in range(cfg.mlp_layers):
            layers += [nn.Linear(width, cfg.hidden), Sine(omega)]
            width = cfg.hidden
        layers += [nn.Linear(width, cfg.c0 * cfg.base * cfg.base), nn.GELU()]
        self.stem = nn.Sequential(*layers)
        blocks, c = [], cfg.c0
        for cout, s in zip(cfg.channels, cfg.strides):
            blocks.append(NervBlock(c, cout, s, 3))
            c = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(c, 3 * cfg.gop, 3, padding=1)

    def coordinates(self, idx: torch.Tensor) -> torch.Tensor:
        """Encoded (row, col) of patches ``idx`` (row-major), each normalised to [0, 1]."""
        rows, cols = self.grid.rows, self.grid.cols
        r = torch.div(idx, cols, rounding_mode="floor").float() / max(1, rows - 1)
        c = torch.remainder(idx, cols).float() / max(1, cols - 1)
        return torch.cat([self.pe(r), self.pe(c)], dim=-1)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        x = self.stem(self.coordinates(idx)).view(-1, cfg.c0, cfg.base, cfg.base)
        x = x.contiguous(memory_format=torch.channels_last)
        return unit_output(self.head(self.blocks(x)))
