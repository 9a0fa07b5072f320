"""A frame source for tests of streaming encoders: serves an array's frames and records each read."""

from __future__ import annotations

import numpy as np

from codec.family import Geometry


class RecordingSource:
    """The ``FrameSource`` an encoder reads: ``frames`` with ``geometry``; ``reads`` lists every
    ``(offset, count)`` asked for, in order."""

    def __init__(self, frames: np.ndarray, geometry: Geometry) -> None:
        self.frames, self.geometry = frames, geometry
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, count: int) -> np.ndarray:
        self.reads.append((offset, count))
        return self.frames[offset : offset + count]
