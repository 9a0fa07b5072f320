"""The four reader kinds: raw I420 ``.yuv``, ``.y4m``, folders of PNG/JPEG frames, and ffmpeg.

Each kind only says how to get its :class:`VideoInfo` and how to deliver native frames of a range;
ranges, chunking and colour conversion are shared in :class:`codec.video.reader.VideoReader`.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from codec.errors import VideoError
from codec.video import ffmpeg, y4m
from codec.video.frames import DEFAULT_FPS, VideoInfo, i420_frame_bytes
from codec.video.reader import FrameSource, VideoReader, check_geometry_option, fps_or

__all__ = ["RawYuvReader", "Y4mReader", "PngFolderReader", "FfmpegReader", "IMAGE_SUFFIXES", "is_rgb_pix_fmt"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_RGB_PIX_FMT = re.compile(r"^(rgb|bgr|gbr|argb|abgr|0rgb|0bgr|x2rgb|x2bgr|pal8)")


class _FileFrames:
    """Native I420 frames of a file, frame ``i`` at byte ``offset(i)``: raw YUV and Y4M alike."""

    def __init__(self, path: Path, offset: Callable[[int], int], frame_bytes: int, start: int) -> None:
        self._file = open(path, "rb")
        self._offset, self._frame_bytes, self._next = offset, frame_bytes, start

    def read(self, n: int) -> np.ndarray:
        block = np.empty((n, self._frame_bytes), np.uint8)
        for i in range(n):
            self._file.seek(self._offset(self._next))
            if self._file.readinto(memoryview(block[i])) != self._frame_bytes:
                raise VideoError(f"{self._file.name}: file ended inside frame {self._next}")
            self._next += 1
        return block

    def close(self) -> None:
        self._file.close()


def _file_size(path: Path) -> int:
    """Size in bytes, or :class:`VideoError` when the file cannot be read."""
    try:
        with open(path, "rb"):
            return path.stat().st_size
    except OSError as exc:
        raise VideoError(f"cannot read {path}: {exc.strerror or exc}") from None


class RawYuvReader(VideoReader):
    """Headerless 8-bit I420 file (Y, U, V planes per frame); geometry must be given or in the name."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction) -> None:
        super().__init__(path)
        if width <= 0 or height <= 0:
            raise VideoError(f"{path}: invalid geometry {width}x{height}")
        self._width, self._height, self._fps = width, height, fps
        self._frame_bytes = i420_frame_bytes(width, height)
        self._size = _file_size(path)

    def _load_info(self) -> VideoInfo:
        n, rest = divmod(self._size, self._frame_bytes)
        if rest or n == 0:
            raise VideoError(
                f"{self.path}: size {self._size} bytes is not a whole number of {self._width}x{self._height} "
                f"I420 frames of {self._frame_bytes} bytes ({n} frames + {rest} bytes)"
            )
        return VideoInfo(self._width, self._height, n, self._fps, self.path, "raw-yuv")

    def _open_source(self, start: int, count: int) -> FrameSource:
        fb = self._frame_bytes
        return _FileFrames(self.path, lambda i: i * fb, fb, start)


class Y4mReader(VideoReader):
    """YUV4MPEG2 file, 8-bit 4:2:0 only (see :mod:`codec.video.y4m`)."""

    def __init__(self, path: Path, fps: Fraction | None) -> None:
        super().__init__(path)
        size = _file_size(path)
        with open(path, "rb") as f:
            self._header = y4m.parse_header(f, path)
            self._offsets = y4m.index_frames(f, path, self._header, size)
        if len(self._offsets) == 0:
            raise VideoError(f"{path}: y4m file has no frames")
        self._fps = fps_or(fps, self._header.fps)

    def _load_info(self) -> VideoInfo:
        h = self._header
        return VideoInfo(h.width, h.height, len(self._offsets), self._fps, self.path, "y4m")

    def _open_source(self, start: int, count: int) -> FrameSource:
        offsets = self._offsets
        fb = i420_frame_bytes(self._header.width, self._header.height)
        return _FileFrames(self.path, lambda i: int(offsets[i]), fb, start)


def natural_key(name: str) -> list:
    """Sort key that orders ``f2`` before ``f10``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def _load_image(path: Path) -> np.ndarray:
    """One image file as uint8 RGB ``(H, W, 3)`` (grey is replicated, alpha dropped)."""
    import imageio.v3 as iio

    try:
        img = np.asarray(iio.imread(path))
    except Exception as exc:  # imageio raises many types for corrupt files
        raise VideoError(f"cannot read image {path}: {exc}".splitlines()[0]) from None
    if img.dtype != np.uint8:
        raise VideoError(f"{path}: only 8-bit images are supported, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise VideoError(f"{path}: unsupported image shape {img.shape}")
    return img[..., :3]


class _ImageFrames:
    """RGB frames from a list of image files, checking each one's size."""

    def __init__(self, files: list[Path], size: tuple[int, int]) -> None:
        self._files, self._size = iter(files), size

    def read(self, n: int) -> np.ndarray:
        w, h = self._size
        block = np.empty((n, h, w, 3), np.uint8)
        for i in range(n):
            path = next(self._files)
            img = _load_image(path)
            if img.shape[:2] != (h, w):
                raise VideoError(f"{path}: frame size {img.shape[1]}x{img.shape[0]} differs from {w}x{h}")
            block[i] = img
        return block

    def close(self) -> None:
        self._files = iter(())


class PngFolderReader(VideoReader):
    """A folder of PNG (or JPEG) frames, in natural order of their names (RGB native)."""

    native_yuv = False

    def __init__(self, path: Path, fps: Fraction | None) -> None:
        super().__init__(path)
        self._files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: natural_key(p.name),
        )
        if not self._files:
            raise VideoError(f"{path}: folder holds no {'/'.join(IMAGE_SUFFIXES)} frames")
        first = _load_image(self._files[0])
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._fps = fps_or(fps, DEFAULT_FPS)

    def _load_info(self) -> VideoInfo:
        return VideoInfo(self._size[0], self._size[1], len(self._files), self._fps, self.path, "png")

    def _open_source(self, start: int, count: int) -> FrameSource:
        return _ImageFrames(list(self._files[start : start + count]), self._size)


def is_rgb_pix_fmt(pix_fmt: str) -> bool:
    """True for ffmpeg pixel formats that store RGB (decoded to ``rgb24`` rather than ``yuv420p``)."""
    return bool(_RGB_PIX_FMT.match(pix_fmt))


class _PipeFrames:
    """Frames piped by one ffmpeg process (rawvideo), exactly ``count`` of them."""

    def __init__(self, proc: ffmpeg.FfmpegProcess, frame_shape: tuple[int, ...]) -> None:
        self._proc, self._shape = proc, frame_shape

    def read(self, n: int) -> np.ndarray:
        block = np.empty((n, *self._shape), np.uint8)
        got = self._proc.read_into(block)
        if got != block.nbytes:
            self._proc.wait()
            raise self._proc.error(f"ffmpeg delivered {got // int(np.prod(self._shape))} of {n} frames")
        return block

    def close(self) -> None:
        self._proc.close()


class FfmpegReader(VideoReader):
    """Anything ffmpeg decodes. YUV sources are piped as ``yuv420p``, RGB ones as ``rgb24``.

    The frame range is selected frame-exactly by decoding from the start and dropping frames before
    ``start`` inside ffmpeg (``select`` filter, ``-fps_mode passthrough``). Rotation metadata is ignored
    (``-noautorotate``): frames come as stored. The frame count decodes the stream once (exact), lazily.
    """

    def __init__(self, path: Path, fps: Fraction | None) -> None:
        super().__init__(path)
        self._probe = ffmpeg.probe(path)
        self.native_yuv = not is_rgb_pix_fmt(self._probe.pix_fmt)
        p = self._probe
        self._fps = fps_or(fps, p.fps if p.fps > 0 else DEFAULT_FPS)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` from the probe, without counting frames."""
        return self._probe.width, self._probe.height

    def _load_info(self) -> VideoInfo:
        n = ffmpeg.count_frames(self.path)
        if n == 0:
            raise VideoError(f"{self.path}: ffmpeg decodes no frames from it")
        return VideoInfo(self._probe.width, self._probe.height, n, self._fps, self.path, "ffmpeg")

    def _open_source(self, start: int, count: int) -> FrameSource:
        w, h = self.size
        pix_fmt, shape = ("yuv420p", (i420_frame_bytes(w, h),)) if self.native_yuv else ("rgb24", (h, w, 3))
        select = ["-vf", f"select=gte(n\\,{start})"] if start else []
        args = ["-noautorotate", "-i", ffmpeg.file_arg(self.path), "-map", "0:v:0", "-an", "-sn", "-dn", *select,
                "-frames:v", str(count), "-fps_mode", "passthrough",
                "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                "-pix_fmt", pix_fmt, "-f", "rawvideo", "pipe:1"]  # fmt: skip
        return _PipeFrames(ffmpeg.FfmpegProcess(args, what=f"cannot decode {self.path}"), shape)


def make_ffmpeg_reader(path: Path, width: int | None, height: int | None, fps: Fraction | None) -> FfmpegReader:
    """An :class:`FfmpegReader`, checking ``width``/``height`` options against the stream."""
    reader = FfmpegReader(path, fps)
    check_geometry_option(path, reader.size, width, height)
    return reader
