"""``open_video``: pick the reader for a path, and parse raw-YUV geometry from UVG-style file names;
``open_input``: open what an encode reads (a path, a :class:`VideoFile` with the geometry its file
does not state, or a :class:`codec.video.pipe.Y4mPipe`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import Protocol, runtime_checkable

from codec.errors import VideoError
from codec.paths import check_input
from codec.video.frames import DEFAULT_FPS, as_fps
from codec.video.kinds import PngFolderReader, RawYuvReader, Y4mReader, make_ffmpeg_reader
from codec.video.reader import VideoReader, check_geometry_option

__all__ = ["open_video", "open_input", "VideoFile", "VideoInput", "RawName", "parse_raw_name", "raw_name_agrees",
           "RAW_SUFFIXES", "GEOMETRY_HINT"]

RAW_SUFFIXES = (".yuv",)
#: What to pass for a raw file whose name does not state its geometry.
GEOMETRY_HINT = ("pass --size WxH and --fps N (default 25; width=, height=, fps= from Python) or name it like "
                 "Name_1920x1080_120fps.yuv")


@dataclass(frozen=True)
class RawName:
    """What a raw file's name says, e.g. ``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``."""

    width: int | None
    height: int | None
    fps: Fraction | None


def parse_raw_name(path: Path) -> RawName:
    """Read ``WxH``, ``NNfps``, bit depth and chroma format tokens (separated by ``_ - .``) of a name.

    Names that announce something other than 8-bit 4:2:0 (``10bit``, ``422``, ``444``) are refused.
    """
    width = height = None
    fps = None
    for token in re.split(r"[_\-.\s]+", path.stem.lower()):
        if m := re.fullmatch(r"(\d+)x(\d+)", token):
            width, height = int(m.group(1)), int(m.group(2))
        elif m := re.fullmatch(r"(\d+(?:\.\d+)?)fps", token):
            fps = as_fps(m.group(1))
        elif (m := re.fullmatch(r"(\d+)bits?", token)) and int(m.group(1)) != 8:
            raise VideoError(f"{path}: name says {token}; only 8-bit raw YUV is supported")
        elif re.fullmatch(r"(yuv)?4(22|44)p?", token):
            raise VideoError(f"{path}: name says {token}; only 4:2:0 raw YUV is supported")
    return RawName(width, height, fps)


def _open_raw(path: Path, width: int | None, height: int | None, fps: Fraction | None) -> VideoReader:
    """Raw I420 with geometry from the options, else from the name."""
    named = parse_raw_name(path)
    width = width if width is not None else named.width
    height = height if height is not None else named.height
    if width is None or height is None:
        raise VideoError(f"{path}: raw YUV needs its geometry: {GEOMETRY_HINT}")
    rate = fps if fps is not None else (named.fps or DEFAULT_FPS)
    return RawYuvReader(path, int(width), int(height), rate)


def open_video(
    path: str | PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    fps: Fraction | float | int | str | None = None,
) -> VideoReader:
    """Open a video for reading, choosing the reader from what ``path`` is.

    * a folder: PNG/JPEG frames in natural name order (``fps`` default 25);
    * ``.yuv``: raw 8-bit I420; ``width``/``height``/``fps`` from the options or from a UVG-style
      name (``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``; ``fps`` default 25);
    * ``.y4m``: YUV4MPEG2 (8-bit 4:2:0);
    * anything else: decoded by ffmpeg (mp4, mkv, avi, mpg, mov, mj2, ...).

    For containers that state their size, ``width``/``height`` must agree with it; ``fps`` overrides
    the stated rate. Problems raise :class:`~codec.errors.VideoError` with one clear line.
    """
    p = Path(path)
    rate = as_fps(fps) if fps is not None else None
    check_input(p)
    if p.is_dir():
        reader: VideoReader = PngFolderReader(p, rate)
    elif p.suffix.lower() in RAW_SUFFIXES:
        return _open_raw(p, width, height, rate)
    elif p.suffix.lower() == ".y4m":
        reader = Y4mReader(p, rate)
    else:
        return make_ffmpeg_reader(p, width, height, rate)
    check_geometry_option(p, (reader.info.width, reader.info.height), width, height)
    return reader


def raw_name_agrees(path: Path, width: int, height: int, fps: Fraction) -> bool:
    """True when the name of raw file ``path`` states this geometry and rate, so that inrv reads it
    back by its name alone (``clip_176x144_25fps.yuv``); False when it states nothing or other values."""
    try:
        named = parse_raw_name(path)
    except VideoError:
        return False
    return (named.width, named.height, named.fps or DEFAULT_FPS) == (width, height, fps)


@runtime_checkable
class VideoInput(Protocol):
    """Something an encode reads that is more than a path: it opens its own reader."""

    def reader(self) -> VideoReader: ...


@dataclass(frozen=True)
class VideoFile:
    """A video file with what the file may not state itself: ``width`` and ``height`` (raw YUV)
    and ``fps``, as :func:`open_video` takes them (``inrv encode --size WxH --fps N``)."""

    path: Path
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None

    def reader(self) -> VideoReader:
        return open_video(self.path, width=self.width, height=self.height, fps=self.fps)


def open_input(src: str | PathLike[str] | VideoInput) -> VideoReader:
    """A reader on what an encode reads: a path (:func:`open_video`), or a :class:`VideoInput`
    (:class:`VideoFile`, :class:`codec.video.pipe.Y4mPipe`) by its own ``reader()``."""
    return src.reader() if isinstance(src, VideoInput) else open_video(src)
