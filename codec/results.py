"""Typed results returned by the public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path


@dataclass(frozen=True)
class StreamInfo:
    """What a ``.inrv`` file says about itself (from its header and chunk table)."""

    path: Path
    model: str
    family_id: int
    width: int
    height: int
    num_frames: int
    fps: Fraction
    file_bytes: int
    header_bytes: int
    chunk_bytes: tuple[int, ...]
    config: dict = field(default_factory=dict)

    @property
    def bpp(self) -> float:
        """File size in bits per pixel of the coded video."""
        return self.file_bytes * 8 / (self.width * self.height * self.num_frames)


@dataclass(frozen=True)
class EncodeResult:
    """Outcome of :func:`codec.encode`. ``bpp`` comes from the written file's size; the quality
    figures are measured on frames decoded back from that file. ``threads``: the CPU threads it
    trained with (the same command with the same count gives the same file). ``frame_passes``: the
    training's work in frames rendered (steps times frames per step; a batch of patches counts as
    its share of a frame), so that ``encode_seconds / frame_passes`` is the cost of one."""

    path: Path
    model: str
    width: int
    height: int
    num_frames: int
    file_bytes: int
    bpp: float
    psnr_rgb: float
    psnr_yuv: float
    encode_seconds: float
    decode_seconds: float
    steps: int
    estimated_bpp: float
    lmbda: float
    threads: int
    frame_passes: float


@dataclass(frozen=True)
class DecodeResult:
    """Outcome of :func:`codec.decode`."""

    path: Path
    first_frame: int
    num_frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.num_frames / self.seconds if self.seconds > 0 else float("inf")
