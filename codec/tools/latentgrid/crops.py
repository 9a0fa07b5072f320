"""Training on windows of a latent pyramid: the samples a crop of the frames sees, upsampled from
a slice of each level, exactly those of the whole level's upsampling
(:func:`codec.tools.latentgrid.upsampling.upsample_level`), and the latents under the crop whose
rate the step pays. Separable gathers and blends: on a CPU, cheaper than ``interpolate``'s backward
and than dense matrices on wide frames. Imported by encoders only (nothing here decodes). 2-D
levels are sliced as 3-D levels of one frame (``Crop(0, 1, ...)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from codec.tools.latentgrid.schemes import PAD


def resample(x: torch.Tensor, dim: int, factor: int, first: int, count: int, size: int, lo: int) -> torch.Tensor:
    """Output samples ``first .. first + count - 1`` of the 1-D linear upsampling by ``factor``
    along ``dim`` (half-pixel centres, edges clamped, as ``torch.nn.functional.interpolate``) of a
    grid of ``size`` samples, of which ``x`` holds the slice from ``lo``: two gathers and a blend."""
    src = np.maximum((np.arange(first, first + count) + 0.5) / factor - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    shape = [1] * x.dim()
    shape[dim] = count
    frac = torch.from_numpy((src - i0).astype(np.float32)).to(x.device).view(shape)
    a = x.index_select(dim, torch.from_numpy(i0 - lo).to(x.device))
    b = x.index_select(dim, torch.from_numpy(i1 - lo).to(x.device))
    return a + (b - a) * frac


@dataclass(frozen=True)
class Crop:
    """A training step's window: frames ``first .. first + frames - 1`` of the group, rows ``top
    .. top + height - 1``, columns ``left .. left + width - 1``."""

    first: int
    frames: int
    top: int
    left: int
    height: int
    width: int


def crop_upsample(sub: torch.Tensor, factor: tuple[int, int], crop: Crop, times: tuple[int, int, int],
                  rows: tuple[int, int, int], cols: tuple[int, int, int]) -> torch.Tensor:
    """The crop's samples ``(crop.frames, crop.height, crop.width)`` of a level upsampled by
    ``factor`` (:func:`codec.tools.latentgrid.upsampling.upsample_level`), from ``sub``, the slice
    ``times[0]:times[1]`` x ``rows[0]:rows[1]`` x ``cols[0]:cols[1]`` of a level of ``times[2]``
    x ``rows[2]`` x ``cols[2]`` latents, separably: columns, rows, then time."""
    ft, fs = factor
    x = sub
    if ft == 1:
        x = x[crop.first - times[0] : crop.first - times[0] + crop.frames]
    if fs == 1:
        x = x[:, crop.top - rows[0] : crop.top - rows[0] + crop.height,
              crop.left - cols[0] : crop.left - cols[0] + crop.width]
    else:
        x = resample(x, 2, fs, crop.left, crop.width, cols[2], cols[0])
        x = resample(x, 1, fs, crop.top, crop.height, rows[2], rows[0])
    if ft > 1:
        x = resample(x, 0, ft, crop.first, crop.frames, times[2], times[0])
    return x


@dataclass(frozen=True)
class LevelWindow:
    """Where a crop falls in one level of ``shape`` upsampled by ``factor``: ``part`` = ``(u0, u1,
    a0, a1, b0, b1)``, the latents (grids, rows, columns) whose upsampled samples the crop covers;
    ``margin`` = ``(v0, v1, s0, s1, t0, t1)``, those with :data:`PAD` more on every side within the
    level (the context model's neighbours); ``spanned``: pixels of the frames the part covers."""

    shape: tuple[int, int, int]
    factor: tuple[int, int]
    crop: Crop
    part: tuple[int, int, int, int, int, int]
    margin: tuple[int, int, int, int, int, int]
    spanned: int

    @classmethod
    def of(cls, shape: tuple[int, int, int], factor: tuple[int, int], crop: Crop,
           frames: tuple[int, int, int]) -> "LevelWindow":
        """The window of ``crop`` in a level of ``shape`` and ``factor`` of a pyramid over ``frames``
        = ``(frames, height, width)``."""
        (tk, hk, wk), (ft, fs) = shape, factor
        u0, u1 = crop.first // ft, -(-(crop.first + crop.frames) // ft)
        a0, a1 = crop.top // fs, -(-(crop.top + crop.height) // fs)
        b0, b1 = crop.left // fs, -(-(crop.left + crop.width) // fs)
        v0, v1 = max(0, u0 - PAD), min(tk, u1 + PAD)
        s0, s1, t0, t1 = max(0, a0 - PAD), min(hk, a1 + PAD), max(0, b0 - PAD), min(wk, b1 + PAD)
        spanned = ((min(u1 * ft, frames[0]) - u0 * ft) * (min(a1 * fs, frames[1]) - a0 * fs)
                   * (min(b1 * fs, frames[2]) - b0 * fs))
        return cls(tuple(shape), factor, crop, (u0, u1, a0, a1, b0, b1), (v0, v1, s0, s1, t0, t1), spanned)

    def slice(self, y: torch.Tensor) -> torch.Tensor:
        """The level's latents within :attr:`margin`."""
        v0, v1, s0, s1, t0, t1 = self.margin
        return y[v0:v1, s0:s1, t0:t1]

    def upsample(self, sub: torch.Tensor) -> torch.Tensor:
        """The crop's samples of the upsampled level from its :meth:`slice` ``sub`` (only the grids
        the crop's frames interpolate are read)."""
        u0, u1 = self.part[:2]
        v0, v1, s0, s1, t0, t1 = self.margin
        w0, w1 = max(v0, u0 - 1), min(v1, u1 + 1)
        return crop_upsample(sub[w0 - v0 : w1 - v0], self.factor, self.crop, (w0, w1, self.shape[0]),
                             (s0, s1, self.shape[1]), (t0, t1, self.shape[2]))

    @property
    def inner(self) -> tuple[int, int, int, int, int, int]:
        """:attr:`part` relative to the slice (what :func:`~codec.tools.latentgrid.training.region_bits`
        takes)."""
        u0, u1, a0, a1, b0, b1 = self.part
        v0, _, s0, _, t0, _ = self.margin
        return (u0 - v0, u1 - v0, a0 - s0, a1 - s0, b0 - t0, b1 - t0)

    @property
    def origin(self) -> tuple[int, int, int]:
        """Where the slice starts in the level."""
        return self.margin[0], self.margin[2], self.margin[4]


def crop_size(height: int, width: int, frames: int, pixels: int) -> tuple[int, int, int]:
    """``(frames, rows, columns)`` of a training step's window on a group of ``frames`` frames of
    ``height x width``: about ``pixels`` pixels, as whole frames where one frame holds fewer (as
    many as fit), else a window of one frame."""
    if height * width <= pixels:
        return max(1, min(frames, pixels // (height * width))), height, width
    rows = min(height, math.isqrt(pixels))
    return 1, rows, min(width, pixels // rows)


def crop_starts(frames: int, window: int) -> list[int]:
    """First frames of windows of ``window`` frames that cover a group of ``frames`` (a training
    epoch: each window once)."""
    starts = list(range(0, frames - window + 1, window))
    return starts + ([frames - window] if starts[-1] + window < frames else [])
