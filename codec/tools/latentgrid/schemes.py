"""Decoding orders of a latent grid: which latents a pass decodes and which neighbours each sees.

A *scheme* gives every latent of a grid ``(T, H, W)`` a pass number and a neighbourhood class; a
class's neighbourhood (offsets ``(dt, dy, dx)``) only reaches latents of earlier passes, or
outside the grid (the zero padding of :data:`PAD`), so a decoder decodes one pass at a time, all
of its latents at once. As in C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et al., ICCV 2023),
the context is causal in the decoding order; the checkerboard order is He et al.'s ("Checkerboard
context model for efficient learned image compression", CVPR 2021):

* ``checkerboard``: frame ``t`` of a grid is two passes, ``2t`` for the anchors (``y + x`` even)
  and ``2t + 1`` for the others. Anchors see five latents of the frame before (the same position
  and its four neighbours); the others also their four anchor neighbours.
* ``causal``: the full causal neighbourhood of raster order (two rows above, five wide, and two to
  the left) plus the frame before's five, decoded as a wavefront: pass ``3y + x + 4t``.

**2-D grids** (one image) are coded as 3-D grids of one frame. That is exact: the frame before
lies in the zero padding, so its neighbours are zeros for encoder and decoder alike. The 3-D
schemes then spend inputs on those zeros; :data:`IMAGE_SCHEMES` holds ``raster``, the causal
scheme without the frame before (its twelve spatial neighbours, the same wavefront), for image
grids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Neighbourhoods reach at most this far (grids are zero-padded by it on every side, time included).
PAD = 2

Offset = tuple[int, int, int]
_PREVIOUS: tuple[Offset, ...] = ((-1, 0, 0), (-1, -1, 0), (-1, 1, 0), (-1, 0, -1), (-1, 0, 1))
_CROSS: tuple[Offset, ...] = ((0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1))
_RASTER: tuple[Offset, ...] = tuple((0, dy, dx) for dy in (-2, -1) for dx in range(-2, 3)) + ((0, 0, -2), (0, 0, -1))


@dataclass(frozen=True)
class Scheme:
    """A decoding order: ``classes[c]`` is the neighbourhood (offsets ``(dt, dy, dx)``) of class
    ``c``; :meth:`passes` gives each latent's pass and class (``checkerboard``: two passes per
    frame; any other name: the raster wavefront ``3y + x + 4t``, one class)."""

    name: str
    classes: tuple[tuple[Offset, ...], ...]

    def passes(self, shape: tuple[int, int, int],
               origin: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
        """``(pass, class)`` of every latent of a grid of ``shape`` (int64 arrays of that shape), or
        of the part of a larger grid of that shape starting at ``origin``."""
        t, y, x = np.meshgrid(*(np.arange(o, o + n, dtype=np.int64) for o, n in zip(origin, shape)), indexing="ij")
        if self.name == "checkerboard":
            parity = (y + x) & 1
            return 2 * t + parity, parity
        return 3 * y + x + 4 * t, np.zeros(shape, dtype=np.int64)

    def count(self, shape: tuple[int, int, int]) -> int:
        """Passes of a grid of ``shape`` (the last pass's number plus one; a pass may be empty)."""
        frames, height, width = shape
        if not frames * height * width:
            return 0
        if self.name == "checkerboard":
            return 2 * frames
        return 3 * (height - 1) + (width - 1) + 4 * (frames - 1) + 1

    def members(self, shape: tuple[int, int, int], index: int) -> tuple[np.ndarray, int]:
        """``(flat indices, class)`` of pass ``index``'s latents in a grid of ``shape``, in raster
        order: what :meth:`passes` gives, one pass at a time, without an array the size of the
        grid (a level of an 8K frame holds tens of millions of latents)."""
        frames, height, width = shape
        if self.name == "checkerboard":
            t, parity = divmod(index, 2)
            rows = np.arange(height, dtype=np.int64)
            first = (rows + parity) & 1  # the row's first column of this parity
            return t * height * width + _runs_of(rows * width + first, (width - first + 1) // 2, 2), parity
        t = np.arange(frames, dtype=np.int64)
        q = index - 4 * t  # 3y + x within frame t
        lo = np.maximum(0, -(-(q - (width - 1)) // 3))
        counts = np.maximum(0, np.minimum(height - 1, q // 3) - lo + 1)
        y = _runs_of(lo, counts, 1)
        flat = (np.repeat(t, counts) * height + y) * width + (np.repeat(q, counts) - 3 * y)
        return np.sort(flat), 0


def _runs_of(starts: np.ndarray, counts: np.ndarray, step: int) -> np.ndarray:
    """``starts[i] + step * j`` for ``j < counts[i]``, run after run (int64)."""
    counts = np.maximum(counts, 0)
    total = int(counts.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + step * offsets


#: The schemes of 3-D grids (a group of frames), by name.
SCHEMES = {
    "checkerboard": Scheme("checkerboard", (_PREVIOUS, _CROSS + _PREVIOUS)),
    "causal": Scheme("causal", (_RASTER + _PREVIOUS,)),
}

#: Schemes for 2-D grids (one image, coded as one frame) that spend no inputs on the frame before.
IMAGE_SCHEMES = {
    "raster": Scheme("raster", (_RASTER,)),
}
