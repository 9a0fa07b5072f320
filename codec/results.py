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
class GroupResult:
    """What encoding one group of frames did (group-wise families, ``nirvana``): its frames
    (``first`` .. ``first + frames - 1``), the training steps it took and why it stopped
    (``"steps"``, ``"plateau"``, ``"target"``, ``"time"``, or ``"inherited"``: the previous group's
    network already reached the target and the group was not trained), whether it is a key group
    (the first group, or the first after a scene cut: trained on the long schedule), its training
    seconds, its chunk's ``bytes`` and ``bpp``, the share of non-zero latents it stores, and the
    PSNR-RGB of its frames as the decoder renders them."""

    group: int
    first: int
    frames: int
    key: bool
    steps: int
    stopped: str
    seconds: float
    bytes: int
    bpp: float
    nonzero: float
    psnr: float


@dataclass(frozen=True)
class EncodeResult:
    """Outcome of :func:`codec.encode`. ``bpp`` comes from the written file's size; the quality
    figures are measured on frames decoded back from that file. ``threads``: the CPU threads it
    trained with (the same command with the same count gives the same file). ``frame_passes``: the
    training's work in frames rendered (steps times frames per step; a batch of patches counts as
    its share of a frame), so that ``encode_seconds / frame_passes`` is the cost of one.
    ``lmbda``: the rate-distortion lambda the family trained with (``None`` for one without).
    ``groups``: one :class:`GroupResult` per group for group-wise families, empty otherwise."""

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
    lmbda: float | None
    threads: int
    frame_passes: float
    groups: tuple[GroupResult, ...] = ()


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
