"""Evaluation datasets: UVG as it is distributed, and any folder or list of video files.

A dataset yields :class:`Sequence` objects: the video at the *evaluated* geometry and frame count,
stored losslessly as 8-bit 4:2:0 (the distributed raw ``.yuv`` / ``.y4m`` file itself when it needs no
change, else a ``.y4m`` made once in a cache folder). Every method reads its input from there and
every metric compares against it, so all methods see the same frames.

Options: ``frames`` keeps the first N frames; ``scale`` S shrinks both sides by S with ffmpeg's *area*
filter applied to the 4:2:0 planes (no colour conversion), rounding the size down to even numbers.
Nothing is ever cropped.

UVG (https://ultravideo.fi): seven 1920x1080, 120 fps, 8-bit 4:2:0 raw files named like
``Beauty_1920x1080_120fps_420_8bit_YUV.yuv``; ReadySetGo's file says ``ReadySteadyGo``; ShakeNDry has
300 frames, the others 600. Folders of PNG frames named after a sequence are accepted too. Every file
is checked on load (present, exact size / frame count) with a message saying what is wrong.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from codec.errors import ConfigError, VideoError
from codec.video import SAMPLE_CLIPS, open_video, parse_raw_name, sample_clip
from codec.video.frames import YUVFrames, i420_frame_bytes
from codec.video.open import RAW_SUFFIXES
from eval import ffmpeg

__all__ = [
    "Sequence",
    "Source",
    "UVG",
    "UVG_GEOMETRY",
    "uvg_sources",
    "folder_sources",
    "resolve_file",
    "prepare",
    "load_dataset",
    "VIDEO_SUFFIXES",
]


@dataclass(frozen=True)
class UvgEntry:
    """One UVG sequence: display name, the stem its file carries, and its frame count."""

    name: str
    stem: str
    frames: int


#: The seven UVG 1080p sequences (name used in papers, stem of the distributed file, frames).
UVG: tuple[UvgEntry, ...] = (
    UvgEntry("Beauty", "Beauty", 600),
    UvgEntry("Bosphorus", "Bosphorus", 600),
    UvgEntry("HoneyBee", "HoneyBee", 600),
    UvgEntry("Jockey", "Jockey", 600),
    UvgEntry("ReadySetGo", "ReadySteadyGo", 600),
    UvgEntry("ShakeNDry", "ShakeNDry", 300),
    UvgEntry("YachtRide", "YachtRide", 600),
)
UVG_GEOMETRY = (1920, 1080)
UVG_FPS = Fraction(120)

#: File suffixes a ``folder`` dataset picks up (anything ffmpeg decodes can also be listed explicitly).
VIDEO_SUFFIXES = (".y4m", ".yuv", ".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".ts")


@dataclass(frozen=True)
class _Video:
    """Name, file and geometry shared by :class:`Source` and :class:`Sequence`."""

    name: str
    path: Path
    width: int
    height: int
    num_frames: int
    fps: Fraction


@dataclass(frozen=True)
class Source(_Video):
    """A video as found on disk, before frame selection and scaling; ``kind`` is its reader kind."""

    kind: str


@dataclass(frozen=True)
class Sequence(_Video):
    """A video as evaluated: ``path`` is a lossless 8-bit 4:2:0 file (``.y4m`` or raw ``.yuv``) holding
    at least ``num_frames`` frames of ``width`` x ``height``; frames ``0 .. num_frames-1`` are evaluated.
    ``origin`` is the file or folder it was made from, ``scale`` the downscale factor applied."""

    origin: Path
    scale: float = 1.0

    @property
    def pixels(self) -> int:
        """Pixels of all evaluated frames (the bpp denominator)."""
        return self.width * self.height * self.num_frames

    def open(self):
        """A :class:`codec.video.VideoReader` on :attr:`path` (geometry given for raw files)."""
        if self.path.suffix.lower() == ".yuv":
            return open_video(self.path, width=self.width, height=self.height, fps=self.fps)
        return open_video(self.path)

    def yuv_chunks(self, chunk: int = 8) -> Iterator[YUVFrames]:
        """The evaluated frames as :class:`YUVFrames` blocks of at most ``chunk`` frames."""
        reader = self.open()
        try:
            yield from reader.iter_chunks(0, self.num_frames, chunk=chunk, yuv=True)
        finally:
            reader.close()

    def describe(self) -> dict:
        """Geometry and provenance for result files."""
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "frames": self.num_frames,
            "fps": str(self.fps),
            "origin": str(self.origin),
            "scale": self.scale,
        }


# -- UVG ------------------------------------------------------------------------------------------


def _uvg_candidates(root: Path, entry: UvgEntry) -> list[Path]:
    """Entries of ``root`` that may hold ``entry``: names starting with its stem or display name."""
    prefixes = {entry.stem.lower(), entry.name.lower()}
    found = []
    for child in sorted(root.iterdir()):
        low = child.name.lower()
        if not any(low == p or low.startswith(p + "_") or low.startswith(p + ".") for p in prefixes):
            continue
        size = re.search(r"(\d+)x(\d+)", low)
        if size and (int(size.group(1)), int(size.group(2))) != UVG_GEOMETRY or "10bit" in low:
            continue  # the 4K or 10-bit editions of the same sequence
        if child.is_file() and low.endswith(".yuv"):
            found.append(child)
        elif child.is_dir() and any(p.suffix.lower() == ".png" for p in child.iterdir()):
            found.append(child)
    return sorted(found, key=lambda p: (not p.is_file(), p.name))


def _check_raw(path: Path, entry: UvgEntry, geometry: tuple[int, int]) -> None:
    """The raw file must hold exactly ``entry.frames`` frames of ``geometry``."""
    frame = i420_frame_bytes(*geometry)
    size = path.stat().st_size
    want = frame * entry.frames
    if size == want:
        return
    whole, rest = divmod(size, frame)
    if size < want:
        raise VideoError(
            f"UVG {entry.name}: {path} is truncated: {size} bytes hold {whole} frames"
            f"{f' and {rest} stray bytes' if rest else ''}, expected {entry.frames} frames of "
            f"{geometry[0]}x{geometry[1]} 8-bit 4:2:0 ({want} bytes); download it again"
        )
    raise VideoError(
        f"UVG {entry.name}: {path} has {size} bytes, more than {entry.frames} frames of "
        f"{geometry[0]}x{geometry[1]} 8-bit 4:2:0 ({want} bytes): is it the 10-bit or 4K edition?"
    )


def _uvg_source(root: Path, entry: UvgEntry, geometry: tuple[int, int]) -> Source:
    """Find and check one UVG sequence under ``root``."""
    candidates = _uvg_candidates(root, entry)
    if not candidates:
        raise VideoError(
            f"UVG {entry.name}: not found in {root} (expected {entry.stem}_1920x1080_120fps_420_8bit_YUV.yuv "
            f"or a folder {entry.name}/ of PNG frames)"
        )
    path = candidates[0]
    if path.is_file():
        _check_raw(path, entry, geometry)
        return Source(entry.name, path, *geometry, entry.frames, UVG_FPS, "raw-yuv")
    info = open_video(path, fps=UVG_FPS).info
    if (info.width, info.height) != geometry or info.num_frames != entry.frames:
        raise VideoError(
            f"UVG {entry.name}: {path} holds {info.num_frames} frames of {info.width}x{info.height}, "
            f"expected {entry.frames} frames of {geometry[0]}x{geometry[1]}"
        )
    return Source(entry.name, path, info.width, info.height, info.num_frames, UVG_FPS, "png")


def uvg_sources(
    root: Path, names: list[str] | None = None, *, geometry: tuple[int, int] = UVG_GEOMETRY
) -> list[Source]:
    """The UVG sequences under ``root`` (all seven, or those in ``names``), each checked.

    ``geometry`` exists for tests with tiny stand-in files; real UVG is 1920x1080.
    Raises :class:`VideoError` naming every missing or damaged sequence.
    """
    root = Path(root)
    if not root.is_dir():
        raise VideoError(f"UVG root {root} is not a folder")
    entries = list(UVG)
    if names:
        by_name = {k.lower(): e for e in UVG for k in (e.name, e.stem)}
        unknown = [n for n in names if n.lower() not in by_name]
        if unknown:
            raise ConfigError(f"unknown UVG sequence(s) {', '.join(unknown)}; UVG has {', '.join(e.name for e in UVG)}")
        entries = list(dict.fromkeys(by_name[n.lower()] for n in names))
    sources, problems = [], []
    for entry in entries:
        try:
            sources.append(_uvg_source(root, entry, geometry))
        except VideoError as exc:
            problems.append(str(exc))
    if problems:
        raise VideoError("; ".join(problems))
    return sources


# -- any files ------------------------------------------------------------------------------------


def _file_source(path: Path, name: str | None, fps: Fraction | None, used: set[str],
                 size: tuple[int, int] | None = None) -> Source:
    """Describe one video file (or PNG folder) with :func:`codec.video.open_video`; ``size``: the
    width and height of raw ``.yuv`` files (others state their own)."""
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    width, height = size if size and path.suffix.lower() in RAW_SUFFIXES else (None, None)
    reader = open_video(path, width=width, height=height, fps=fps)
    try:
        info = reader.info
    finally:
        reader.close()
    if info.num_frames < 1:
        raise VideoError(f"{path}: holds no frames")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or (path.stem if path.is_file() else path.name)) or "video"
    base, k = name, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return Source(name, path, info.width, info.height, info.num_frames, info.fps, info.kind)


def resolve_file(item: str | Path, root: Path | None = None) -> tuple[str | None, Path]:
    """A ``--files`` entry: ``PATH``, ``NAME=PATH``, or the name of a sample clip (``carphone``, ``bikes``)
    that is not an existing path. Relative paths are taken under ``root`` when given."""
    text = str(item)
    name = None
    if "=" in text and not Path(text).exists():
        name, text = text.split("=", 1)
    path = Path(text)
    if root is not None and not path.is_absolute():
        path = root / path
    if not path.exists() and name is None and text in SAMPLE_CLIPS:
        return text, sample_clip(text)
    return name, path


def folder_sources(
    root: Path | None = None, files: list[str | Path] | None = None, *, fps: Fraction | None = None,
    size: tuple[int, int] | None = None,
) -> list[Source]:
    """Every video in ``root`` (by suffix, plus sub-folders of PNG frames) and every entry of ``files``
    (see :func:`resolve_file`); ``size``: the width and height of raw ``.yuv`` files whose names do
    not state them."""
    entries: list[tuple[str | None, Path]] = []
    if root is not None:
        root = Path(root)
        if not root.is_dir():
            raise VideoError(f"{root} is not a folder")
        if not files:
            for child in sorted(root.iterdir()):
                if child.is_file() and child.suffix.lower() in VIDEO_SUFFIXES:
                    entries.append((None, child))
                elif child.is_dir() and any(p.suffix.lower() == ".png" for p in child.iterdir()):
                    entries.append((None, child))
    entries += [resolve_file(f, root) for f in files or []]
    if not entries:
        raise ConfigError(f"no videos found in {root}" if root is not None else "no video files given (--root or --files)")
    used: set[str] = set()
    return [_file_source(path, name, fps, used, size) for name, path in dict.fromkeys(entries)]


# -- frame selection and scaling ------------------------------------------------------------------


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Size after dividing by ``scale``, rounded down to even numbers (4:2:0)."""
    w, h = int(width / scale) // 2 * 2, int(height / scale) // 2 * 2
    if w < 2 or h < 2:
        raise ConfigError(f"--scale {scale} leaves nothing of {width}x{height}")
    return w, h


def _check_cache(path: Path, width: int, height: int, frames: int) -> bool:
    """True when ``path`` is a complete cached y4m of this geometry and frame count."""
    if not path.is_file():
        return False
    try:
        reader = open_video(path)
        info = reader.info
        reader.close()
    except VideoError:
        return False
    return (info.width, info.height, info.num_frames) == (width, height, frames)


def _self_describing(source: Source) -> bool:
    """True for files every reader (the codec's included) opens with the right geometry by themselves:
    Y4M, and raw YUV whose name states its size and rate (``Name_1920x1080_120fps...yuv``)."""
    if source.kind == "y4m":
        return True
    if source.kind != "raw-yuv":
        return False
    try:
        named = parse_raw_name(source.path)
    except VideoError:
        return False
    return (named.width, named.height, named.fps) == (source.width, source.height, source.fps)


def prepare(source: Source, *, frames: int | None = None, scale: float = 1.0, cache_dir: Path | None = None,
            width: int | None = None) -> Sequence:
    """The :class:`Sequence` for ``source`` with the first ``frames`` frames, shrunk by ``scale``
    (or, with ``width``, scaled up or down to that many columns, the rows following to the even
    number nearest the source's aspect: ``-vf scale=W:-2``).

    ``.y4m`` and raw ``.yuv`` sources named with their geometry that need no scaling are used in place;
    everything else is converted once into ``cache_dir/<name>_<W>x<H>_<N>f.y4m`` (reused on later runs).
    """
    if frames is not None and frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {frames}")
    if not scale >= 1:
        raise ConfigError(f"--scale must be >= 1 (a downscale factor), got {scale}")
    if source.width % 2 or source.height % 2:
        raise VideoError(f"{source.path}: {source.width}x{source.height} is not even; 4:2:0 needs even sizes")
    count = min(frames or source.num_frames, source.num_frames)
    if width is not None:
        if width < 2 or width % 2:
            raise ConfigError(f"width must be an even number >= 2, got {width}")
        scale = source.width / width
        height = max(2, round(source.height / scale / 2) * 2)
    else:
        width, height = scaled_size(source.width, source.height, scale) if scale != 1 else (source.width, source.height)
    if scale == 1 and _self_describing(source):
        return Sequence(source.name, source.path, width, height, count, source.fps, source.path, scale)
    if cache_dir is None:
        raise ConfigError(f"{source.name}: converting {source.path} needs a cache folder")
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"{source.name}_{width}x{height}_{count}f.y4m"
    if not _check_cache(out, width, height, count):
        _convert(source, count, width, height, out)
    return Sequence(source.name, out, width, height, count, source.fps, source.path, scale)


def _convert(source: Source, count: int, width: int, height: int, out: Path) -> None:
    """Write frames ``0..count-1`` of ``source`` to ``out`` (y4m) through ffmpeg's area scaler."""
    reader = open_video(source.path, width=source.width, height=source.height, fps=source.fps) \
        if source.kind == "raw-yuv" else open_video(source.path, fps=source.fps)

    def feed() -> Iterator[bytes]:
        try:
            for block in reader.iter_chunks(0, count, chunk=8, yuv=True):
                yield block.to_i420().tobytes()
        finally:
            reader.close()

    part = out.with_name(out.name + ".part")
    args = ffmpeg.raw_input_args(source.width, source.height, source.fps) + ["-i", "-"]
    if (width, height) != (source.width, source.height):
        args += ["-vf", f"scale={width}:{height}:flags=area"]
    args += ["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(part)]
    ffmpeg.run(args, what=f"preparing {source.name}", feed=feed())
    os.replace(part, out)


def load_dataset(
    kind: str,
    root: Path | None,
    *,
    files: list[Path] | None = None,
    names: list[str] | None = None,
    frames: int | None = None,
    scale: float = 1.0,
    cache_dir: Path | None = None,
    fps: Fraction | None = None,
    geometry: tuple[int, int] = UVG_GEOMETRY,
    size: tuple[int, int] | None = None,
) -> list[Sequence]:
    """Sequences of dataset ``kind`` (``"uvg"`` or ``"folder"``), selected, checked and prepared;
    ``size``: the width and height of a folder's raw ``.yuv`` files (``inrv eval --size WxH``)."""
    if kind == "uvg":
        if root is None:
            raise ConfigError("--dataset uvg needs --root (the folder with the UVG files)")
        sources = uvg_sources(Path(root), names, geometry=geometry)
    elif kind == "folder":
        sources = folder_sources(root, files, fps=fps, size=size)
        if names:
            wanted = {n.lower() for n in names}
            sources = [s for s in sources if s.name.lower() in wanted]
            if not sources:
                raise ConfigError(f"none of {', '.join(names)} found")
    else:
        raise ConfigError(f"unknown dataset {kind!r} (use uvg or folder)")
    return [prepare(s, frames=frames, scale=scale, cache_dir=cache_dir) for s in sources]


@dataclass(frozen=True)
class ClipSpec:
    """One ``--clips`` entry: a sample clip's name or a file, its first ``frames``, shrunk by ``scale``."""

    name: str
    frames: int
    scale: float = 1.0

    @property
    def text(self) -> str:
        return f"{self.name}:{self.frames}" + ("" if self.scale == 1 else f"/{self.scale:g}")


def _clip(item: str) -> ClipSpec:
    name, colon, rest = item.rpartition(":")  # rpartition: a file name may hold a colon, FRAMES cannot
    frames, slash, scale = rest.partition("/")
    if not colon or not name.strip():
        raise ConfigError(f"--clips: {item!r} is not NAME:FRAMES[/SCALE] (e.g. carphone:120 or bigbuckbunny:64/2)")
    if not frames.strip().isdigit() or int(frames) < 1:
        raise ConfigError(f"--clips: {item!r}: FRAMES must be a whole number >= 1, got {frames!r}")
    try:
        factor = float(scale) if slash else 1.0
    except ValueError:
        raise ConfigError(f"--clips: {item!r}: SCALE must be a number (a downscale factor), got {scale!r}") from None
    if not (math.isfinite(factor) and factor >= 1):
        raise ConfigError(f"--clips: {item!r}: SCALE must be >= 1 (a downscale factor), got {scale!r}")
    return ClipSpec(name.strip(), int(frames), factor)


def parse_clips(text: str) -> tuple[ClipSpec, ...]:
    """``"carphone:120,bigbuckbunny:64/2"`` -> clip specs; :class:`ConfigError` on a bad or repeated entry."""
    items = [i.strip() for i in text.split(",")]
    if not any(items) or not all(items):
        raise ConfigError(f"--clips: expected NAME:FRAMES[/SCALE],... without empty entries, got {text!r}")
    clips = tuple(_clip(i) for i in items)
    names = [c.name for c in clips]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--clips: {', '.join(repeated)} given twice (results are kept per clip name)")
    return clips


def clip_list(text: str) -> list[tuple[str, int]]:
    """``"carphone:32,bikes:16"`` -> ``[("carphone", 32), ("bikes", 16)]``: :func:`parse_clips`
    for the tools that take no scale."""
    clips = parse_clips(text)
    scaled = [c.text for c in clips if c.scale != 1]
    if scaled:
        raise ConfigError(f"--clips: {', '.join(scaled)}: this tool takes NAME:FRAMES, without /SCALE")
    return [(c.name, c.frames) for c in clips]
