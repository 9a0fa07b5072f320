"""Tubelet grids: any frame size covered by ``th x tw`` tubelets without cropping the video
(TeCoNeRV, Padmanabhan et al., 2026, stitches overlapping tubelets at 720p and 1080p).

Two layouts, chosen per stream:

* **pad** (``overlap == 0``): a ``ceil(H / th) x ceil(W / tw)`` grid over the frame padded by edge
  replication; the rendered grid is cropped back to ``H x W``.
* **overlap** (``overlap > 0``): along each axis the fewest tubelets that overlap by at least
  ``overlap`` pixels, spread evenly from edge to edge (frames smaller than a tubelet are padded
  first); rendered tubelets are blended with weights that ramp linearly over ``overlap`` pixels
  from each inner edge, so seams fade instead of jumping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch


def _starts(size: int, tile: int, overlap: int) -> tuple[int, ...]:
    """Tile start positions along one axis of ``size`` pixels (``size >= tile``)."""
    if overlap == 0:
        return tuple(range(0, size, tile))
    if size <= tile:
        return (0,)
    n = -(-(size - overlap) // (tile - overlap))
    return tuple(round(i * (size - tile) / (n - 1)) for i in range(n))


def _ramp(tile: int, overlap: int, lead: bool, trail: bool) -> np.ndarray:
    """Blend weights along one axis: rising over ``overlap`` pixels where a neighbour precedes
    (``lead``), falling where one follows (``trail``), 1 elsewhere."""
    w = np.ones(tile, dtype=np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if lead:
        w[:overlap] = np.minimum(w[:overlap], ramp)
    if trail:
        w[tile - overlap:] = np.minimum(w[tile - overlap:], ramp[::-1])
    return w


@dataclass(frozen=True)
class TubeletGrid:
    """Tubelet positions over an ``height x width`` frame (see the module's two layouts)."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    overlap: int = 0

    def __post_init__(self) -> None:
        if self.overlap and not 0 < self.overlap < min(self.tile_h, self.tile_w) // 2 + 1:
            raise ValueError("tubelet overlap must be below half a tubelet")

    @property
    def padded(self) -> tuple[int, int]:
        """The size tubelets cover before the crop back to ``height x width``."""
        if self.overlap == 0:
            return -(-self.height // self.tile_h) * self.tile_h, -(-self.width // self.tile_w) * self.tile_w
        return max(self.height, self.tile_h), max(self.width, self.tile_w)

    @cached_property
    def positions(self) -> tuple[tuple[int, int], ...]:
        """``(top, left)`` of every tubelet, row by row."""
        ph, pw = self.padded
        return tuple((y, x) for y in _starts(ph, self.tile_h, self.overlap)
                     for x in _starts(pw, self.tile_w, self.overlap))

    @property
    def count(self) -> int:
        """Tubelets of the grid, from the two axes alone (without :attr:`positions`, which a header
        claiming a 16384 x 16384 frame would make a quarter of a million of)."""
        ph, pw = self.padded
        return len(_starts(ph, self.tile_h, self.overlap)) * len(_starts(pw, self.tile_w, self.overlap))

    def cut(self, frames: torch.Tensor) -> torch.Tensor:
        """(T, 3, H, W) float frames -> (count, T, 3, th, tw) tubelets."""
        ph, pw = self.padded
        if (ph, pw) != (self.height, self.width):
            frames = torch.nn.functional.pad(frames, (0, pw - self.width, 0, ph - self.height), mode="replicate")
        return torch.stack([frames[:, :, y : y + self.tile_h, x : x + self.tile_w] for y, x in self.positions])

    @cached_property
    def _weights(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-tubelet blend weights (count, th, tw) and their sum over the padded frame."""
        if self.overlap == 0:
            return None
        ph, pw = self.padded
        ys = sorted({y for y, _ in self.positions})
        xs = sorted({x for _, x in self.positions})
        w = np.stack([np.outer(_ramp(self.tile_h, self.overlap, y != ys[0], y != ys[-1]),
                               _ramp(self.tile_w, self.overlap, x != xs[0], x != xs[-1]))
                      for y, x in self.positions])
        total = np.zeros((ph, pw), dtype=np.float32)
        for (y, x), wi in zip(self.positions, w):
            total[y : y + self.tile_h, x : x + self.tile_w] += wi
        return w, total

    @cached_property
    def _axes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Tubelet starts along each axis (made once: a tubelet's weights and every blend read them)."""
        ph, pw = self.padded
        return _starts(ph, self.tile_h, self.overlap), _starts(pw, self.tile_w, self.overlap)

    def weight(self, i: int) -> np.ndarray:
        """Tubelet ``i``'s blend weights (th, tw) (the overlap layout's)."""
        ys, xs = self._axes
        r, c = divmod(i, len(xs))
        return np.outer(_ramp(self.tile_h, self.overlap, r > 0, r < len(ys) - 1),
                        _ramp(self.tile_w, self.overlap, c > 0, c < len(xs) - 1))

    def blend(self, tiles: Iterable[torch.Tensor]) -> Iterator[tuple[int, torch.Tensor]]:
        """Rendered tubelets ``(T, 3, th, tw)``, in index order, to ``(first row, (T, 3, rows, W))``
        pieces of the frames, top to bottom: :meth:`assemble`'s rows, bit for bit (every sum
        formed in the same order), each piece as soon as no later tubelet covers it. Memory: a
        band of tubelet rows, whatever the frame's height."""
        ys, xs = self._axes
        _, pw = self.padded
        acc: torch.Tensor | None = None
        total = np.zeros((0, pw), dtype=np.float32)
        lo = 0
        for i, tile in enumerate(tiles):
            r, c = divmod(i, len(xs))
            y, x = ys[r], xs[c]
            if acc is None:
                acc = tile.new_zeros((tile.shape[0], 3, 0, pw))
            grow = y + self.tile_h - lo - acc.shape[2]
            if grow > 0:
                acc = torch.cat([acc, acc.new_zeros((*acc.shape[:2], grow, pw))], dim=2)
                total = np.concatenate([total, np.zeros((grow, pw), dtype=np.float32)])
            region = acc[:, :, y - lo : y - lo + self.tile_h, x : x + self.tile_w]
            if self.overlap == 0:
                region.copy_(tile)
            else:
                w = self.weight(i)
                region += tile * torch.from_numpy(w).to(tile)
                total[y - lo : y - lo + self.tile_h, x : x + self.tile_w] += w
            last = i == len(ys) * len(xs) - 1
            done = self.padded[0] if last else ys[(i + 1) // len(xs)]
            if done > lo:
                rows = acc[:, :, : done - lo]
                if self.overlap:
                    rows = rows / torch.from_numpy(total[: done - lo]).to(rows)
                if lo < self.height:
                    yield lo, rows[:, :, : min(done, self.height) - lo, : self.width]
                acc, total, lo = acc[:, :, done - lo :].clone(), total[done - lo :].copy(), done

    def assemble(self, tiles: torch.Tensor) -> torch.Tensor:
        """(count, T, 3, th, tw) rendered tubelets -> (T, 3, H, W) frames (cropped; blended where
        tubelets overlap)."""
        ph, pw = self.padded
        t = tiles.shape[1]
        out = tiles.new_zeros((t, 3, ph, pw))
        weights = self._weights
        for i, (y, x) in enumerate(self.positions):
            if weights is None:
                out[:, :, y : y + self.tile_h, x : x + self.tile_w] = tiles[i]
            else:
                out[:, :, y : y + self.tile_h, x : x + self.tile_w] += tiles[i] * torch.from_numpy(weights[0][i]).to(tiles)
        if weights is not None:
            out = out / torch.from_numpy(weights[1]).to(tiles)
        return out[:, :, : self.height, : self.width]
