"""Y4M on a pipe (``inrv encode -``, ``ffmpeg -i in.mp4 -f yuv4mpegpipe - | inrv encode - ...``).

A pipe cannot seek, and an encode reads its frames more than once (it measures the file it wrote
against them; rate control fits several times), so :class:`Y4mPipe` reads frames from the stream
only as a reader asks for them and keeps them in an anonymous temporary file (in the system's
temporary folder, ``TMPDIR``; it has no name, so nothing is left behind however the process ends)
from which every later read is served. Memory holds at most the frames a reader asked for at once.

The frame count goes into the stream header before the first frame is coded: with ``limit``
(``inrv encode --frames START:COUNT``), the pipe is taken to hold ``START + COUNT`` frames and read
as the encoder goes, group by group for the families that stream (training starts before the pipe
ends; frames after the limit are never read); without it, the pipe is read to its end before the
count is known.
"""

from __future__ import annotations

import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from codec.errors import VideoError
from codec.video import y4m
from codec.video.frames import VideoInfo, i420_frame_bytes
from codec.video.reader import FrameSource, VideoReader, check_geometry_option, fps_or

__all__ = ["Y4mPipe", "PipeReader"]


class Y4mPipe:
    """Y4M frames arriving on ``stream`` (standard input by default), read on demand and kept in a
    temporary file. ``limit``: the frames the pipe is taken to hold (None: as many as it holds, read
    to the end when the count is first asked for); ``width``/``height`` must agree with the header,
    ``fps`` overrides its rate. Use it as a context manager (or :meth:`close` it); :meth:`reader`
    opens a :class:`PipeReader` on it, as many times as needed."""

    def __init__(self, stream: BinaryIO | None = None, *, limit: int | None = None, width: int | None = None,
                 height: int | None = None, fps: Fraction | None = None, name: str = "standard input") -> None:
        self.path = Path(name)
        self._stream = sys.stdin.buffer if stream is None else stream
        self.header = y4m.read_header(self._stream, self.path)
        check_geometry_option(self.path, (self.header.width, self.header.height), width, height)
        self.fps = fps_or(fps, self.header.fps)
        self.frame_bytes = i420_frame_bytes(self.header.width, self.header.height)
        if limit is not None and limit < 1:
            raise VideoError(f"{self.path}: a frame limit must be >= 1, got {limit}")
        self.limit = limit
        self.frames = 0  # kept in the temporary file so far
        self._ended = False
        self._spool = tempfile.TemporaryFile(prefix="inrv-pipe-")

    def fill(self, n: int) -> int:
        """Read frames from the stream until ``n`` are kept (at most ``limit``), or the stream
        ends; returns the frames kept."""
        n = n if self.limit is None else min(n, self.limit)
        frame = bytearray(self.frame_bytes)
        while self.frames < n and not self._ended:
            if not y4m.read_frame_marker(self._stream, self.path, self.frames):
                self._ended = True
                break
            if _read_exactly(self._stream, frame) != len(frame):
                raise VideoError(f"{self.path}: the stream ended inside frame {self.frames}")
            self._spool.seek(self.frames * self.frame_bytes)
            self._spool.write(frame)
            self.frames += 1
        return self.frames

    def count(self) -> int:
        """The frame count: ``limit`` when given, else every frame of the stream (read to its end)."""
        if self.limit is not None:
            return self.limit
        if self.fill(sys.maxsize) == 0:
            raise VideoError(f"{self.path}: the y4m stream holds no frames")
        return self.frames

    def read(self, first: int, n: int) -> np.ndarray:
        """Frames ``first .. first + n - 1`` as packed I420 ``(n, frame_bytes)``."""
        if self.fill(first + n) < first + n:
            raise VideoError(f"{self.path}: the stream ended after {self.frames} frames; frames "
                             f"{first}..{first + n - 1} were asked for (--frames START:COUNT)")
        block = np.empty((n, self.frame_bytes), np.uint8)
        self._spool.seek(first * self.frame_bytes)
        if self._spool.readinto(memoryview(block).cast("B")) != block.nbytes:
            raise VideoError(f"{self.path}: the temporary copy of the stream is short")
        return block

    def reader(self) -> "PipeReader":
        """A :class:`codec.video.VideoReader` on the pipe's frames."""
        return PipeReader(self)

    def close(self) -> None:
        """Drop the temporary copy (the stream itself is the caller's). Idempotent."""
        self._spool.close()

    def __enter__(self) -> "Y4mPipe":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_exactly(stream: BinaryIO, buffer: bytearray) -> int:
    """Bytes read into ``buffer``: all of it, or fewer where the stream ended (a pipe may deliver a
    frame in pieces)."""
    view, got = memoryview(buffer), 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return got


class _PipeFrames:
    """Consecutive frames of a :class:`Y4mPipe` from ``start``."""

    def __init__(self, pipe: Y4mPipe, start: int) -> None:
        self._pipe, self._next = pipe, start

    def read(self, n: int) -> np.ndarray:
        block = self._pipe.read(self._next, n)
        self._next += n
        return block

    def close(self) -> None:
        pass


class PipeReader(VideoReader):
    """A :class:`VideoReader` over a :class:`Y4mPipe` (``kind`` ``"y4m"``)."""

    def __init__(self, pipe: Y4mPipe) -> None:
        super().__init__(pipe.path)
        self._pipe = pipe

    def _load_info(self) -> VideoInfo:
        h = self._pipe.header
        return VideoInfo(h.width, h.height, self._pipe.count(), self._pipe.fps, self.path, "y4m")

    def _open_source(self, start: int, count: int) -> FrameSource:
        return _PipeFrames(self._pipe, start)
