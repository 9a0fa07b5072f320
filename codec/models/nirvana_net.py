"""The per-group network of ``nirvana`` and the patch layout it works on.

NIRVANA (Maiya et al., "NIRVANA: Neural Implicit Representations of Videos with Adaptive Networks
and Autoregressive Patch-wise Modeling", CVPR 2023) cuts a video into groups of ``G`` frames and
each frame into ``P x P`` patches. One small network per group maps a patch's coordinates to that
patch in all ``G`` frames at once:

    (row, col) -> positional encoding -> MLP stem (sine activations, SIREN-style)
    -> c0 x b x b map -> NeRV blocks (Conv3x3 -> PixelShuffle -> GELU) -> Conv3x3 to 3G channels
    -> tanh * 0.5 + 0.5 -> G patches of P x P.

Any resolution: the patch grid is ``ceil(H / P) x ceil(W / P)``; frames are padded (edge
replication) to the grid for training and the decoded grid is cropped back to ``H x W``.

The trunk is shared by the group's ``G`` frames (only the last conv is per frame), which is where
the method's speed comes from: a step trains ``G`` frames of each sampled patch for the price of
one trunk pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from codec.device import autocast
from codec.family import to_uint8
from codec.models.blocks import NervBlock, PositionalEncoding, unit_output

MAX_GOP = 64
#: Pixels per frame a render batch covers (64 patches of 16 x 16, 256 of 8 x 8). With a fixed 64
#: patches, 8-pixel patches rendered in batches a quarter this size: bikes 640x272 at patch 8 then
#: decoded at 75-80 fps, against 87-91 with 256 (one thread, interleaved runs, one outlier at 64 fps
#: left out, 2026-11-26; the same frames to the bit).
RENDER_PIXELS = 16384


@dataclass(frozen=True)
class NirvanaConfig:
    """Sizes of every group's network (all groups share them, so latents line up for residuals).

    ``gop`` frames per group, ``patch`` pixels per patch side, ``pe_levels`` encoding frequencies
    per coordinate, ``mlp_layers`` hidden layers of width ``hidden``, a ``c0``-channel base map of
    side ``patch / prod(strides)``, then one NeRV block per ``(channels, strides)`` entry.
    ``omega`` (x100) is the SIREN frequency of the stem's sine activations.
    """

    gop: int
    patch: int
    pe_levels: int
    hidden: int
    mlp_layers: int
    c0: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    omega: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.gop <= MAX_GOP:
            raise ValueError(f"NIRVANA group size must be in 1..{MAX_GOP}")
        if not (4 <= self.patch <= 256 and 1 <= self.pe_levels <= 64):
            raise ValueError("NIRVANA patch size or encoding levels out of range")
        if not (1 <= self.hidden <= 4096 and 1 <= self.mlp_layers <= 8 and 1 <= self.c0 <= 1024):
            raise ValueError("NIRVANA stem sizes out of range")
        if not (1 <= len(self.strides) <= 6 and len(self.strides) == len(self.channels)):
            raise ValueError("NIRVANA stages: strides and channels must have 1..6 equal entries")
        if any(not 2 <= s <= 8 for s in self.strides) or any(not 1 <= c <= 1024 for c in self.channels):
            raise ValueError("NIRVANA stage strides or channels out of range")
        if self.patch % math.prod(self.strides):
            raise ValueError("NIRVANA patch size must be a multiple of the stride product")
        if not 1 <= self.omega <= 10_000:
            raise ValueError("NIRVANA sine frequency out of range")

    @property
    def base(self) -> int:
        """Side of the map the first NeRV block receives."""
        return self.patch // math.prod(self.strides)


@dataclass(frozen=True)
class PatchGrid:
    """The ``rows x cols`` grid of ``patch``-sized cells covering an ``height x width`` frame."""

    height: int
    width: int
    patch: int

    @property
    def rows(self) -> int:
        return -(-self.height // self.patch)

    @property
    def cols(self) -> int:
        return -(-self.width // self.patch)

    @property
    def count(self) -> int:
        return self.rows * self.cols

    def tubes(self, frames: np.ndarray) -> torch.Tensor:
        """(n, H, W, 3) uint8 -> (rows * cols, P, P, 3 n) uint8: each patch in its ``n`` frames,
        as ``3 n`` channels (frame-major), the samples :func:`codec.fit.fit` draws. Made
        channel-first by ``fit``, they are a channels-last (B, 3 n, P, P) tensor: the layout of the
        network's output, compared with it as it comes (:class:`NirvanaNet`)."""
        n, p = len(frames), self.patch
        pad = ((0, 0), (0, self.rows * p - self.height), (0, self.cols * p - self.width), (0, 0))
        x = np.pad(frames, pad, mode="edge") if any(a or b for a, b in pad) else frames
        x = torch.from_numpy(np.ascontiguousarray(x)).view(n, self.rows, p, self.cols, p, 3)
        return x.permute(1, 3, 2, 4, 0, 5).reshape(self.count, p, p, n * 3).contiguous()

    def assemble(self, patches: np.ndarray) -> np.ndarray:
        """(rows * cols, n, P, P, 3) -> (n, H, W, 3): the patches back in place, cropped."""
        _, n, p, _, _ = patches.shape
        x = patches.reshape(self.rows, self.cols, n, p, p, 3).transpose(2, 0, 3, 1, 4, 5)
        x = x.reshape(n, self.rows * p, self.cols * p, 3)
        return np.ascontiguousarray(x[:, : self.height, : self.width])


def render_group(net: Callable[[torch.Tensor], torch.Tensor], grid: PatchGrid, count: int,
                 device: torch.device, batch: int | None = None) -> np.ndarray:
    """The first ``count`` frames a group network (patch indices -> (B, 3 G, P, P)) renders,
    (count, H, W, 3) uint8, ``batch`` patches at a time (default: :data:`RENDER_PIXELS` worth).
    The encoder measures groups with it, the decoder decodes with it."""
    batch = batch or max(1, RENDER_PIXELS // (grid.patch * grid.patch))
    out = np.empty((grid.count, count, grid.patch, grid.patch, 3), dtype=np.uint8)
    with torch.inference_mode():
        for first in range(0, grid.count, batch):
            idx = torch.arange(first, min(grid.count, first + batch), device=device)
            with autocast(device):
                y = net(idx).unflatten(1, (-1, 3))[:, :count]
            out[first : first + len(idx)] = to_uint8(y.flatten(0, 1)).reshape(len(idx), count, *out.shape[2:])
    return grid.assemble(out)


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
