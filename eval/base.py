"""What every evaluated method is: the :class:`Method` protocol and the values that flow through a sweep.

A method (an ffmpeg anchor or an inrv model family) turns one :class:`~eval.datasets.Sequence` at one
:class:`Setting` of its rate knob into a file (:meth:`Method.encode`), decodes it once for timing
(:meth:`Method.decode`) and hands its decoded frames to the shared measurement code
(:meth:`Method.frames`), so that every method is measured by the very same code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, Union

import numpy as np

from codec.errors import ConfigError
from codec.video.frames import YUVFrames

if TYPE_CHECKING:
    from eval.datasets import Sequence

__all__ = ["Setting", "Encoded", "Decoded", "Method", "DecodedChunk", "spread"]

#: A block of decoded frames: YUV 4:2:0 planes (anchors) or uint8 RGB ``(N, H, W, 3)`` (inrv).
DecodedChunk = Union[YUVFrames, np.ndarray]


@dataclass(frozen=True)
class Setting:
    """One value of a method's rate knob, e.g. ``crf=32`` or ``quality=3`` or ``lmbda=0.001``."""

    knob: str
    value: float

    @property
    def key(self) -> str:
        """Stable text identifying the point in result files (``"crf=32"``)."""
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.knob}={value}"

    def as_dict(self) -> dict[str, float | int]:
        value = int(self.value) if float(self.value).is_integer() else float(self.value)
        return {self.knob: value}


@dataclass(frozen=True)
class Encoded:
    """A written bitstream: its path, the bytes counted as rate, wall seconds and peak memory (MiB)."""

    path: Path
    num_bytes: int
    seconds: float
    peak_mb: float
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decoded:
    """A timed full decode: wall seconds, frames produced and peak memory (MiB)."""

    seconds: float
    num_frames: int
    peak_mb: float

    @property
    def fps(self) -> float:
        return self.num_frames / self.seconds if self.seconds > 0 else float("inf")


class Method(Protocol):
    """The interface the sweep drives. ``kind`` is ``"anchor"`` or ``"inrv"``."""

    name: str
    kind: Literal["anchor", "inrv"]

    def describe(self) -> dict:
        """Everything that decides its output besides the rate knob (preset, GOP, steps, versions).

        Stored in result files; a resumed sweep only reuses points made with an equal description.
        """
        ...

    def description(self) -> str:
        """One human line for reports (``"x265 preset medium, CRF sweep, default GOP"``)."""
        ...

    def settings(self, points: int) -> list[Setting]:
        """``points`` settings spread over the knob's useful range, lowest rate first."""
        ...

    def parse_setting(self, text: str) -> Setting:
        """A user's value for the knob (``"32"``), validated; :class:`ConfigError` otherwise."""
        ...

    def encode(self, seq: "Sequence", setting: Setting, workdir: Path) -> Encoded:
        """Encode ``seq`` into a file under ``workdir``."""
        ...

    def decode(self, encoded: Encoded, seq: "Sequence", workdir: Path) -> Decoded:
        """Decode the whole file once, timed (the output is thrown away)."""
        ...

    def frames(self, encoded: Encoded, seq: "Sequence", chunk: int) -> Iterator[DecodedChunk]:
        """The decoded frames in blocks of at most ``chunk``, in order, for measurement."""
        ...


def spread(lo: float, hi: float, points: int, *, integer: bool) -> list[float]:
    """``points`` values evenly spaced from ``lo`` to ``hi`` (both included; rounded if ``integer``)."""
    if points < 1:
        raise ConfigError(f"--points must be >= 1, got {points}")
    if points == 1:
        values = [(lo + hi) / 2]
    else:
        values = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    if integer:
        values = [float(round(v)) for v in values]
    out: list[float] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out
