"""Video writers: Y4M, raw I420, PNG folders, lossless FFV1 ``.mkv`` and x264 ``.mp4``.

Output goes to a temporary name next to the target (``.NAME.<random>.part``, a folder for PNG) and is
renamed onto the target only by a successful :meth:`VideoWriter.close`; an exception inside the
``with`` block, a failed write, :meth:`VideoWriter.abort` or garbage collection of an unfinished
writer removes it, so a target is either complete or untouched. The path ``-`` writes Y4M (or,
with ``kind="raw-yuv"``, raw I420) to standard output as the frames come, for a pipe
(``inrv decode S -o - | ffplay -``): nothing else goes there, and an aborted write stops it.

Kinds and what they store:

* ``y4m`` (``.y4m``): 8-bit 4:2:0, ``C420jpeg``; RGB input converted by :mod:`codec.color`.
* ``raw-yuv`` (``.yuv``): headerless I420, same conversion.
* ``png`` (a folder, a path without suffix): ``frame_00000.png``... RGB, exact.
* ``ffv1`` (``.mkv``): FFV1 level 3, intra only, ``bgr0`` (8-bit RGB): reads back bit-exact RGB.
* ``x264`` (``.mp4``): libx264 CRF 18, preset medium, ``yuv420p`` from :mod:`codec.color`, tagged
  BT.601 (smpte170m) limited range; for viewing, lossy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import BinaryIO, Iterable, Literal, Protocol

import numpy as np

from codec.color import check_even
from codec import stopsignals
from codec.errors import VideoError
from codec.paths import check_output_folder, is_stdio
from codec.video import ffmpeg, y4m
from codec.video.frames import YUVFrames, as_fps

__all__ = ["WriterKind", "VideoWriter", "write_video", "kind_for_path"]

WriterKind = Literal["y4m", "raw-yuv", "png", "ffv1", "x264"]
_SUFFIX_KIND: dict[str, WriterKind] = {".y4m": "y4m", ".yuv": "raw-yuv", ".mkv": "ffv1", ".mp4": "x264", "": "png"}
_YUV_KINDS = ("y4m", "raw-yuv", "x264")
_MUXERS = {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov", ".avi": "avi", ".nut": "nut"}
_CODEC_ARGS: dict[str, list[str]] = {
    "ffv1": ["-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1", "-pix_fmt", "bgr0"],
    "x264": ["-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
             "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
             "-color_range", "tv"],
}  # fmt: skip
_PNG_PATTERN = "frame_{:05d}.png"


def kind_for_path(path: Path) -> WriterKind:
    """The writer kind a path implies: by suffix; an existing folder or no suffix means PNG frames;
    ``-`` (standard output) means Y4M."""
    if is_stdio(path):
        return "y4m"
    if path.is_dir():
        return "png"
    kind = _SUFFIX_KIND.get(path.suffix.lower())
    if kind is None:
        raise VideoError(f"{path}: cannot tell the output format; use .y4m, .yuv, .mkv, .mp4 or a folder")
    return kind


class _Sink(Protocol):
    """Receives native frames (YUVFrames or RGB arrays) and finalises or discards the temp output."""

    def write(self, frames: YUVFrames | np.ndarray) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class _FileSink:
    """Y4M or raw I420 written with plain file I/O: into a temporary file (``own``: synced and closed
    at the end), or onto standard output (flushed; what is written cannot be taken back)."""

    def __init__(self, file: BinaryIO, header: bytes | None, own: bool = True) -> None:
        self._file, self._own = file, own
        self._frame_marker = b"FRAME\n" if header is not None else b""
        if header:
            self._file.write(header)

    def write(self, frames: YUVFrames) -> None:
        for packed in frames.to_i420():
            self._file.write(self._frame_marker)
            self._file.write(memoryview(packed))

    def finish(self) -> None:
        self._file.flush()
        if self._own:
            os.fsync(self._file.fileno())
            self._file.close()

    def abort(self) -> None:
        if self._own:
            self._file.close()


class _PngSink:
    """``frame_00000.png``... in the temporary folder (imageio)."""

    def __init__(self, tmp: Path) -> None:
        tmp.mkdir()
        self._dir, self._next = tmp, 0

    def write(self, frames: np.ndarray) -> None:
        import imageio.v3 as iio

        for frame in frames:
            iio.imwrite(self._dir / _PNG_PATTERN.format(self._next), frame, extension=".png")
            self._next += 1

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _FfmpegSink:
    """FFV1 or x264 through one ffmpeg process fed rawvideo on stdin."""

    def __init__(self, tmp: Path, target: Path, kind: str, size: tuple[int, int], fps: Fraction) -> None:
        yuv = kind in _YUV_KINDS
        muxer = _MUXERS.get(target.suffix.lower(), "matroska" if kind == "ffv1" else "mp4")
        args = ["-f", "rawvideo", "-pix_fmt", "yuv420p" if yuv else "rgb24", "-s", f"{size[0]}x{size[1]}",
                "-r", ffmpeg.fps_arg(fps), "-i", "pipe:0", "-map", "0:v:0", *_CODEC_ARGS[kind],
                *(["-movflags", "+faststart"] if muxer in ("mp4", "mov") else []), "-f", muxer, ffmpeg.file_arg(tmp)]  # fmt: skip
        self._proc = ffmpeg.FfmpegProcess(args, what=f"cannot write {target}", stdin=True)

    def write(self, frames: YUVFrames | np.ndarray) -> None:
        self._proc.write(frames.to_i420() if isinstance(frames, YUVFrames) else frames)

    def finish(self) -> None:
        self._proc.finish()

    def abort(self) -> None:
        self._proc.close()


def _temp_path(target: Path) -> Path:
    """A fresh hidden name next to ``target``: ``.NAME.<random>.part``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def _remove(path: Path) -> None:
    """Delete a file or folder if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _check_png_target(path: Path) -> None:
    """A PNG target folder may only replace an empty folder or a previous frame_*.png output."""
    if path.exists() and not path.is_dir():
        raise VideoError(f"{path}: exists and is not a folder")
    if path.is_dir():
        strangers = [p.name for p in path.iterdir() if not (p.name.startswith("frame_") and p.suffix == ".png")]
        if strangers:
            raise VideoError(f"{path}: folder exists and holds other files ({strangers[0]}); choose another")


class VideoWriter:
    """Writes frames to ``path``, chunk by chunk; the file appears on :meth:`close`.

    ``kind`` is one of ``"y4m" | "raw-yuv" | "png" | "ffv1" | "x264"``, by default from the suffix
    (``.y4m``, ``.yuv``, ``.mkv``, ``.mp4``, folder or no suffix). :meth:`write` takes uint8 RGB
    ``(N, H, W, 3)`` (or one ``(H, W, 3)`` frame) or :class:`YUVFrames`; YUV kinds store YUV input as
    is, RGB kinds store RGB input as is, and the other way round converts with :mod:`codec.color`.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        width: int,
        height: int,
        fps: Fraction | float | int | str,
        kind: WriterKind | None = None,
    ) -> None:
        self.path = Path(path)
        self.to_stdout = is_stdio(path)
        self.kind: WriterKind = kind or kind_for_path(self.path)
        self.width, self.height, self.fps = int(width), int(height), as_fps(fps)
        self.frames_written = 0
        self._done = True
        self._check_target()
        self._tmp = None if self.to_stdout else _temp_path(self.path)
        stopsignals.register(self._tmp)  # removed by the stop watchdog if it must end the process
        self._sink = self._make_sink()
        self._done = False

    def _check_target(self) -> None:
        """Validate kind, geometry and destination before anything is created."""
        if self.kind not in ("y4m", "raw-yuv", "png", "ffv1", "x264"):
            raise VideoError(f"unknown writer kind {self.kind!r}")
        if self.width <= 0 or self.height <= 0:
            raise VideoError(f"{self.path}: invalid size {self.width}x{self.height}")
        if self.kind == "x264":
            check_even(self.width, self.height)  # libx264's 4:2:0; y4m, .yuv and the others take any size
        if self.to_stdout:
            if self.kind not in ("y4m", "raw-yuv"):
                raise VideoError(f"standard output takes y4m or raw-yuv frames, not {self.kind}")
            return
        check_output_folder(self.path)
        if self.kind == "png":
            _check_png_target(self.path)
        elif self.path.is_dir():
            raise VideoError(f"{self.path}: is a folder")

    def _make_sink(self) -> _Sink:
        """Open the temporary output for this kind."""
        if self.kind == "png":
            return _PngSink(self._tmp)
        if self.kind in ("ffv1", "x264"):
            return _FfmpegSink(self._tmp, self.path, self.kind, (self.width, self.height), self.fps)
        header = y4m.format_header(self.width, self.height, self.fps) if self.kind == "y4m" else None
        if self.to_stdout:
            return _FileSink(sys.stdout.buffer, header, own=False)
        return _FileSink(open(self._tmp, "xb"), header)

    def _native(self, frames: np.ndarray | YUVFrames) -> np.ndarray | YUVFrames:
        """Check geometry and convert to what the sink stores."""
        if isinstance(frames, YUVFrames):
            size = (frames.width, frames.height)
        else:
            frames = np.asarray(frames)
            frames = frames[None] if frames.ndim == 3 else frames
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
                raise VideoError(f"{self.path}: frames must be uint8 RGB (N, H, W, 3), got {frames.dtype} {frames.shape}")
            size = (frames.shape[2], frames.shape[1])
        if size != (self.width, self.height):
            raise VideoError(f"{self.path}: frame size {size[0]}x{size[1]} differs from {self.width}x{self.height}")
        if self.kind in _YUV_KINDS:
            return frames if isinstance(frames, YUVFrames) else YUVFrames.from_rgb(frames)
        return frames.to_rgb() if isinstance(frames, YUVFrames) else frames

    def write(self, frames: np.ndarray | YUVFrames) -> None:
        """Append frames. On any error the writer aborts (nothing is left) and re-raises."""
        if self._done:
            raise VideoError(f"{self.path}: writer is closed")
        try:
            stopsignals.check()  # a stop signal whose exception a library swallowed ends the work here
            native = self._native(frames)
            self._sink.write(native)
        except BaseException:
            self.abort()
            raise
        self.frames_written += len(native)

    def close(self) -> Path:
        """Finish the output and move it onto the target; returns the target path. Idempotent."""
        if self._done:
            return self.path
        try:
            if self.frames_written == 0:
                raise VideoError(f"{self.path}: no frames were written")
            self._sink.finish()
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._done = True
        stopsignals.unregister(self._tmp)
        return self.path

    def _commit(self) -> None:
        """Rename the temporary output onto the target (replacing a previous output)."""
        if self._tmp is None:  # standard output: written as it came
            return
        if self.kind == "png" and self.path.exists():
            old = _temp_path(self.path)
            os.replace(self.path, old)
            os.replace(self._tmp, self.path)
            _remove(old)
        else:
            os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Discard everything written so far. Idempotent."""
        if self._done:
            return
        self._done = True
        stopsignals.unregister(self._tmp)
        try:
            self._sink.abort()
        finally:
            if self._tmp is not None:
                _remove(self._tmp)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        try:
            self.abort()
        except Exception:
            pass


def write_video(
    path: str | PathLike[str],
    frames: np.ndarray | YUVFrames | Iterable[np.ndarray | YUVFrames],
    fps: Fraction | float | int | str,
    *,
    kind: WriterKind | None = None,
) -> Path:
    """Write RGB frames ``(N, H, W, 3)``, :class:`YUVFrames`, or an iterable of such chunks to ``path``."""
    chunks = iter([frames] if isinstance(frames, (np.ndarray, YUVFrames)) else frames)
    first = next(chunks, None)
    if first is None:
        raise VideoError(f"{path}: no frames to write")
    if isinstance(first, YUVFrames):
        width, height = first.width, first.height
    else:
        width, height = int(np.shape(first)[-2]), int(np.shape(first)[-3])
    with VideoWriter(path, width=width, height=height, fps=fps, kind=kind) as writer:
        writer.write(first)
        for chunk in chunks:
            writer.write(chunk)
    return writer.path
