"""Value types of the video layer: :class:`VideoInfo`, :class:`YUVFrames` and the I420 frame layout."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from codec.color import rgb_to_yuv420, yuv420_to_rgb
from codec.errors import VideoError

__all__ = ["ReaderKind", "VideoInfo", "YUVFrames", "i420_frame_bytes", "as_fps", "DEFAULT_FPS"]

ReaderKind = Literal["ffmpeg", "raw-yuv", "png", "y4m"]

DEFAULT_FPS = Fraction(25)
"""Frame rate assumed where a source has none (raw YUV without ``NNfps`` in its name, PNG folders),
as ffmpeg's rawvideo and image2 demuxers do."""


def as_fps(value: Fraction | float | int | str) -> Fraction:
    """Turn a frame rate given as a number, a fraction or a string (``"30000/1001"``, ``"29.97"``) into a
    positive :class:`Fraction`; :class:`VideoError` otherwise."""
    try:
        fps = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError) as exc:
        raise VideoError(f"invalid frame rate {value!r}") from exc
    if fps <= 0:
        raise VideoError(f"frame rate must be positive, got {value!r}")
    return fps


@dataclass(frozen=True)
class VideoInfo:
    """What a reader knows about a video.

    ``kind`` says how it is read: ``"raw-yuv"`` (8-bit I420 file), ``"y4m"``, ``"png"`` (folder of
    images) or ``"ffmpeg"`` (anything ffmpeg decodes).
    """

    width: int
    height: int
    num_frames: int
    fps: Fraction
    path: Path
    kind: ReaderKind

    @property
    def duration(self) -> float:
        """Length in seconds (``num_frames / fps``)."""
        return float(self.num_frames / self.fps)


def i420_frame_bytes(width: int, height: int) -> int:
    """Bytes of one 8-bit I420 frame (Y plane then U then V, chroma halved in both directions,
    rounded up: ``ceil(W/2) x ceil(H/2)``)."""
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


@dataclass(frozen=True)
class YUVFrames:
    """8-bit YUV 4:2:0 frames: ``y`` ``(N, H, W)``, ``u`` and ``v`` ``(N, ceil(H/2), ceil(W/2))``, all uint8."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __post_init__(self) -> None:
        for name in ("y", "u", "v"):
            plane = getattr(self, name)
            if not isinstance(plane, np.ndarray) or plane.dtype != np.uint8 or plane.ndim != 3:
                raise VideoError(f"YUVFrames.{name} must be a uint8 array (N, H, W)")
        n, h, w = self.y.shape
        chroma = (n, (h + 1) // 2, (w + 1) // 2)
        if self.u.shape != chroma or self.v.shape != chroma:
            raise VideoError(f"chroma planes {self.u.shape}, {self.v.shape} do not match luma {self.y.shape}")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def width(self) -> int:
        """Luma width in pixels."""
        return int(self.y.shape[2])

    @property
    def height(self) -> int:
        """Luma height in pixels."""
        return int(self.y.shape[1])

    def __getitem__(self, index: slice) -> "YUVFrames":
        """Frames ``index`` (a slice) of every plane."""
        if not isinstance(index, slice):
            raise TypeError("YUVFrames can only be sliced (frames[a:b])")
        return YUVFrames(self.y[index], self.u[index], self.v[index])

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> "YUVFrames":
        """Convert uint8 RGB ``(N, H, W, 3)`` with :func:`codec.color.rgb_to_yuv420`."""
        return cls(*rgb_to_yuv420(rgb))

    def to_rgb(self) -> np.ndarray:
        """uint8 RGB ``(N, H, W, 3)`` through :func:`codec.color.yuv420_to_rgb`."""
        return yuv420_to_rgb(self.y, self.u, self.v)

    @classmethod
    def concatenate(cls, parts: Sequence["YUVFrames"]) -> "YUVFrames":
        """Join frame blocks along the frame axis."""
        if not parts:
            raise VideoError("nothing to concatenate")
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("y", "u", "v")))

    @classmethod
    def from_i420(cls, block: np.ndarray, width: int, height: int) -> "YUVFrames":
        """Views of a ``(N, frame_bytes)`` uint8 block of packed I420 frames as planes (no copy)."""
        n = block.shape[0]
        cw, ch = (width + 1) // 2, (height + 1) // 2
        luma, chroma = width * height, cw * ch
        y = block[:, :luma].reshape(n, height, width)
        u = block[:, luma : luma + chroma].reshape(n, ch, cw)
        v = block[:, luma + chroma : luma + 2 * chroma].reshape(n, ch, cw)
        return cls(y, u, v)

    def to_i420(self) -> np.ndarray:
        """Packed I420 frames ``(N, frame_bytes)`` uint8 (Y, then U, then V of each frame)."""
        n = len(self)
        return np.concatenate([self.y.reshape(n, -1), self.u.reshape(n, -1), self.v.reshape(n, -1)], axis=1)
