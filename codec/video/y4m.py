"""YUV4MPEG2 (``.y4m``) headers and frame index: inrv's own parser and header writer.

Only 8-bit 4:2:0 is accepted: ``C420jpeg``, ``C420paldv``, ``C420mpeg2``, ``C420`` or no ``C`` tag
(which means 4:2:0). The chroma siting of the variants is not resampled: planes are taken as they are,
and inrv's writer tags its output ``C420jpeg`` (centre-sited chroma, matching the 2x2 averaging of
:mod:`codec.color`). Interlaced streams (``It``/``Ib``/``Im``) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from codec.errors import VideoError
from codec.video.frames import DEFAULT_FPS, i420_frame_bytes

__all__ = ["Y4mHeader", "parse_header", "read_header", "read_frame_marker", "header_of", "format_header",
           "index_frames", "MAGIC"]

MAGIC = b"YUV4MPEG2"
_MAX_HEADER = 4096
_MAX_FRAME_HEADER = 1024
_COLORSPACES_420 = {"420jpeg", "420paldv", "420mpeg2", "420"}


@dataclass(frozen=True)
class Y4mHeader:
    """Stream header: geometry, frame rate and where the first frame starts."""

    width: int
    height: int
    fps: Fraction
    colorspace: str
    data_offset: int


def _tag_value(path: Path, tag: str, value: str) -> int | Fraction | str:
    """Decode one header tag's value (``W``/``H`` ints, ``F`` ratio, others as text)."""
    try:
        if tag in "WH":
            return int(value)
        if tag == "F":
            num, den = value.split(":")
            return Fraction(int(num), int(den))
    except (ValueError, ZeroDivisionError):
        raise VideoError(f"cannot read {path}: bad y4m header tag {tag}{value}") from None
    return value


def _check_tags(path: Path, tags: dict[str, int | Fraction | str]) -> None:
    """Refuse headers inrv cannot read (missing size, non-4:2:0, interlaced)."""
    if "W" not in tags or "H" not in tags or int(tags["W"]) <= 0 or int(tags["H"]) <= 0:
        raise VideoError(f"cannot read {path}: y4m header lacks a valid width/height")
    colorspace = str(tags.get("C", "420jpeg"))
    if colorspace not in _COLORSPACES_420:
        raise VideoError(f"cannot read {path}: y4m colour space C{colorspace} is not 8-bit 4:2:0")
    if str(tags.get("I", "p")) not in ("p", "?"):
        raise VideoError(f"cannot read {path}: interlaced y4m (I{tags['I']}) is not supported")


def parse_header(f: BinaryIO, path: Path) -> Y4mHeader:
    """Read and validate the stream header at the start of ``f``."""
    f.seek(0)
    return header_of(f.read(_MAX_HEADER), path)


def read_header(stream: BinaryIO, path: Path) -> Y4mHeader:
    """Read and validate the stream header from a stream that cannot seek (a pipe): exactly its line."""
    return header_of(stream.readline(_MAX_HEADER), path)


def read_frame_marker(stream: BinaryIO, path: Path, index: int) -> bool:
    """Read frame ``index``'s ``FRAME...`` line from a stream that cannot seek; False at the end of
    the stream, :class:`VideoError` for anything else than a marker."""
    line = stream.readline(_MAX_FRAME_HEADER)
    if not line:
        return False
    if not line.startswith(b"FRAME") or not line.endswith(b"\n"):
        raise VideoError(f"cannot read {path}: no FRAME marker before frame {index}")
    return True


def header_of(head: bytes, path: Path) -> Y4mHeader:
    """The stream header at the start of ``head`` (its first line, at most ``_MAX_HEADER`` bytes);
    ``data_offset``: where the first frame's marker starts."""
    end = head.find(b"\n")
    if not head.startswith(MAGIC) or end < 0:
        raise VideoError(f"cannot read {path}: not a YUV4MPEG2 file (bad or missing header)")
    tags: dict[str, int | Fraction | str] = {}
    for token in head[len(MAGIC) : end].decode("ascii", "replace").split():
        tags[token[0]] = _tag_value(path, token[0], token[1:])
    _check_tags(path, tags)
    fps = tags.get("F", DEFAULT_FPS)
    fps = fps if isinstance(fps, Fraction) and fps > 0 else DEFAULT_FPS
    return Y4mHeader(int(tags["W"]), int(tags["H"]), fps, str(tags.get("C", "420jpeg")), end + 1)


def format_header(width: int, height: int, fps: Fraction) -> bytes:
    """Header inrv writes: progressive, square pixels, ``C420jpeg``."""
    return f"YUV4MPEG2 W{width} H{height} F{fps.numerator}:{fps.denominator} Ip A1:1 C420jpeg\n".encode("ascii")


def index_frames(f: BinaryIO, path: Path, header: Y4mHeader, file_size: int) -> np.ndarray:
    """Byte offsets of every frame's pixel data (after its ``FRAME...`` line), checking each marker.

    A file that ends inside a frame, or a missing ``FRAME`` marker, raises :class:`VideoError`.
    """
    frame_bytes = i420_frame_bytes(header.width, header.height)
    offsets: list[int] = []
    pos = header.data_offset
    while pos < file_size:
        f.seek(pos)
        line = f.read(_MAX_FRAME_HEADER)
        end = line.find(b"\n")
        if not line.startswith(b"FRAME") or end < 0:
            raise VideoError(f"cannot read {path}: no FRAME marker at byte {pos} (frame {len(offsets)})")
        data = pos + end + 1
        if data + frame_bytes > file_size:
            raise VideoError(
                f"cannot read {path}: truncated: frame {len(offsets)} needs {frame_bytes} bytes, "
                f"{file_size - data} left"
            )
        offsets.append(data)
        pos = data + frame_bytes
    return np.asarray(offsets, dtype=np.int64)
