"""Groups of frames for group-wise encoders: fixed-size groups ended early at scene cuts, read
from a frame source with at most one group of look-ahead (memory does not grow with the video)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from codec.family import FrameSource
from codec.metrics import psnr_rgb


def budget_share(budget: float, spent: float, weight: float, rest: float) -> float:
    """A group's share of what is left of a time ``budget`` after ``spent`` seconds: ``weight``
    against the summed ``rest`` weights of the groups still to come after it (at least 1 ms)."""
    return max(1e-3, (budget - spent) * weight / (weight + rest))


def scene_cuts(frames: np.ndarray, previous: np.ndarray | None, threshold: float) -> list[int]:
    """Indices ``i`` of ``frames`` (n, H, W, 3) where a new scene starts: frame ``i - 1`` (for
    ``i = 0``, ``previous``, the frame before them) is less than ``threshold`` dB PSNR away
    (``threshold`` 0: never)."""
    seq = frames if previous is None else np.concatenate([previous[None], frames])
    if len(seq) < 2 or threshold <= 0:
        return []
    apart = psnr_rgb(seq[1:], seq[:-1]) < threshold
    offset = 0 if previous is None else 1
    return [int(i) + 1 - offset for i in np.flatnonzero(apart)]


@dataclass(frozen=True)
class FrameGroup:
    """One group of frames as the encoder reads it: frames ``first .. first + len(frames) - 1``;
    ``regular`` frames unless a scene cut ended it early; ``cut``: a new scene starts with it."""

    first: int
    frames: np.ndarray
    regular: int
    cut: bool


def read_groups(source: FrameSource, gop: int, threshold: float) -> Iterator[FrameGroup]:
    """The source's frames group by group: up to ``gop`` frames each (``min(gop, frames left)``),
    ended early by a scene cut inside them (:func:`scene_cuts`, ``threshold`` dB). It reads at most
    ``gop`` frames ahead, so memory holds about two groups' frames whatever the video's length."""
    geometry = source.geometry
    total = geometry.num_frames
    pending = np.empty((0, geometry.height, geometry.width, 3), dtype=np.uint8)
    last: np.ndarray | None = None
    first = 0
    while first < total:
        regular = min(gop, total - first)
        if len(pending) < regular:
            pending = np.concatenate([pending, source.read(first + len(pending), regular - len(pending))])
        cuts = scene_cuts(pending[:regular], last, threshold)
        count = next((i for i in cuts if i > 0), regular)
        frames, pending = pending[:count], pending[count:]
        yield FrameGroup(first, frames, regular, 0 in cuts)
        last, first = frames[-1], first + count
