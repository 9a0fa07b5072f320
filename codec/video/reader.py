"""Video readers: one base class doing ranges, chunking and colour conversion; one small class per kind.

Every reader has a *native* representation: packed I420 frames (raw YUV, Y4M, ffmpeg sources stored
as YUV) or RGB (PNG folders, ffmpeg sources stored as RGB, e.g. FFV1 ``gbrp``). Frames are delivered in
native form by a :class:`FrameSource`, and converted on demand with :mod:`codec.color` (the one
BT.601 conversion), so YUV planes of YUV sources and RGB pixels of RGB sources are never touched.
"""

from __future__ import annotations

import abc
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from codec.errors import ConfigError, VideoError
from codec.video.frames import VideoInfo, YUVFrames

__all__ = ["FrameSource", "VideoReader"]


class FrameSource(Protocol):
    """Delivers consecutive native frames of one range: ``read(n)`` then ``close()``."""

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` frames: ``(n, frame_bytes)`` packed I420, or ``(n, H, W, 3)`` RGB."""
        ...

    def close(self) -> None:
        """Release files and processes. Idempotent."""
        ...


class VideoReader(abc.ABC):
    """Reads frames of one video; obtained from :func:`codec.video.open_video`.

    Use it as a context manager (or call :meth:`close`). Frames come as uint8 RGB ``(N, H, W, 3)``
    (:meth:`read`) or as :class:`YUVFrames` (:meth:`read_yuv`); :meth:`iter_chunks` streams a range
    without holding it in memory. Ranges outside the video raise :class:`VideoError`.
    """

    native_yuv: bool = True
    """True when the source stores 8-bit 4:2:0 (frames come packed as I420), False for RGB sources."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._info: VideoInfo | None = None
        self._open_sources: dict[int, FrameSource] = {}
        self._closed = False

    # -- to implement per kind ------------------------------------------------------------------
    @abc.abstractmethod
    def _load_info(self) -> VideoInfo:
        """Geometry, frame count and rate (may be slow: called once, on first use of :attr:`info`)."""

    @abc.abstractmethod
    def _open_source(self, start: int, count: int) -> FrameSource:
        """A source positioned at frame ``start`` that will be asked for ``count`` frames in total."""

    # -- public API -----------------------------------------------------------------------------
    @property
    def info(self) -> VideoInfo:
        """:class:`VideoInfo` of the video (the frame count of ffmpeg sources is computed on first use)."""
        if self._info is None:
            self._info = self._load_info()
        return self._info

    def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
        """Frames ``start .. start+count-1`` (all remaining if ``count`` is None) as uint8 RGB ``(N, H, W, 3)``."""
        return self._read_whole(start, count, yuv=False)

    def read_yuv(self, start: int = 0, count: int | None = None) -> YUVFrames:
        """Frames ``start .. start+count-1`` as :class:`YUVFrames` (native planes for YUV sources)."""
        return self._read_whole(start, count, yuv=True)

    def iter_chunks(
        self, start: int = 0, count: int | None = None, chunk: int = 8, yuv: bool = False
    ) -> Iterator[np.ndarray] | Iterator[YUVFrames]:
        """Stream frames ``start .. start+count-1`` in blocks of at most ``chunk`` frames.

        Yields uint8 RGB arrays ``(n, H, W, 3)``, or :class:`YUVFrames` when ``yuv`` is true. The range
        is checked now (:class:`VideoError` if outside the video); files and processes are opened on
        the first ``next()`` and released when the iterator ends, is closed, or the reader is closed.
        """
        if not isinstance(chunk, int) or chunk < 1:
            raise ConfigError(f"chunk must be a positive number of frames, got {chunk!r}")
        start, count = self._check_range(start, count)
        return self._chunks(start, count, chunk, yuv)

    def close(self) -> None:
        """Stop every running iteration (files closed, ffmpeg killed). Idempotent."""
        self._closed = True
        for source in list(self._open_sources.values()):
            source.close()
        self._open_sources.clear()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # -- shared machinery -----------------------------------------------------------------------
    def _check_range(self, start: int, count: int | None) -> tuple[int, int]:
        """Validate ``start``/``count`` against the frame count; returns ``(start, count)``."""
        if self._closed:
            raise VideoError(f"{self.path}: reader is closed")
        n = self.info.num_frames
        if not _is_int(start) or not 0 <= start <= n or (start == n and count != 0):
            raise VideoError(f"{self.path}: start frame {start!r} is outside the video (frames 0..{n - 1})")
        if count is None:
            count = n - int(start)
        if not _is_int(count) or count < 0:
            raise VideoError(f"{self.path}: frame count {count!r} must be a non-negative integer")
        if start + count > n:
            raise VideoError(f"{self.path}: frames {start}..{start + count - 1} are outside the video ({n} frames)")
        return int(start), int(count)

    def _chunks(self, start: int, count: int, chunk: int, yuv: bool) -> Iterator:
        """Generator behind :meth:`iter_chunks`: one source for the whole range, closed at the end."""
        if count == 0:
            return
        source = self._open_source(start, count)
        key = id(source)
        self._open_sources[key] = source
        try:
            done = 0
            while done < count:
                if self._closed:
                    raise VideoError(f"{self.path}: reader was closed during iteration")
                n = min(chunk, count - done)
                native = source.read(n)
                done += n
                yield self._convert(native, yuv)
        finally:
            source.close()
            self._open_sources.pop(key, None)

    def _convert(self, native: np.ndarray, yuv: bool) -> np.ndarray | YUVFrames:
        """Native block -> what the caller asked for, through :mod:`codec.color` when needed."""
        if self.native_yuv:
            frames = YUVFrames.from_i420(native, self.info.width, self.info.height)
            return frames if yuv else frames.to_rgb()
        return YUVFrames.from_rgb(native) if yuv else native

    def _read_whole(self, start: int, count: int | None, *, yuv: bool):
        """One chunk holding the whole range (or an empty result)."""
        start, count = self._check_range(start, count)
        chunks = self._chunks(start, count, max(count, 1), yuv)
        try:
            block = next(chunks, None)
        finally:
            chunks.close()
        return self._empty(yuv) if block is None else block

    def _empty(self, yuv: bool) -> np.ndarray | YUVFrames:
        """Zero frames with the video's geometry."""
        w, h = self.info.width, self.info.height
        if yuv:
            return YUVFrames(*(np.zeros((0, h // d, w // d), np.uint8) for d in (1, 2, 2)))
        return np.zeros((0, h, w, 3), np.uint8)


def _is_int(value: object) -> bool:
    """True for Python and numpy integers (not bools)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_geometry_option(path: Path, actual: tuple[int, int], width: int | None, height: int | None) -> None:
    """Where a container states its size, ``width``/``height`` options must agree with it."""
    for name, want, got in (("width", width, actual[0]), ("height", height, actual[1])):
        if want is not None and want != got:
            raise VideoError(f"{path}: {name} option {want} differs from the file's {got}")


def fps_or(value: Fraction | None, fallback: Fraction) -> Fraction:
    """The user's fps option where given, else the container's."""
    return value if value is not None else fallback
