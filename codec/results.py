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

    def __str__(self) -> str:
        """``print(video.info)``: geometry, fps, model, bytes per part, bpp."""
        chunks = ", ".join(f"{b:,}" for b in self.chunk_bytes[:8]) + (", ..." if len(self.chunk_bytes) > 8 else "")
        return (f"{self.path.name}: {self.model}, {self.width}x{self.height}, {self.num_frames} frames at "
                f"{float(self.fps):g} fps; {self.file_bytes:,} bytes (header {self.header_bytes:,}; "
                f"{len(self.chunk_bytes)} chunk{'s' if len(self.chunk_bytes) != 1 else ''}: {chunks}), "
                f"{self.bpp:.4f} bpp")


@dataclass(frozen=True)
class GroupResult:
    """What encoding one group of frames did (group-wise families, ``nirvana``): its frames
    (``first`` .. ``first + frames - 1``), the training steps it took and why it stopped
    (``"steps"``, ``"plateau"``, ``"target"``, ``"time"``, or ``"inherited"``: the previous group's
    network already reached the target and the group was not trained), whether it is a key group
    (the first group, or the first after a scene cut: trained on the long schedule), its training
    seconds, its chunk's ``bytes`` and ``bpp``, the share of non-zero latents it stores, the
    PSNR-RGB of its frames as the decoder renders them, and the bits training's rate term estimated
    for the group (0 when it was not trained)."""

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
    estimated_bits: float = 0.0

    def summary(self) -> str:
        """The group in a few words, for progress bars."""
        return f"group {self.group}: {self.steps} steps, {self.bytes} bytes, {self.psnr:.2f} dB"


@dataclass(frozen=True)
class Probe:
    """One fit of rate control, a probe or a full fit: the (fractional) ``quality`` level, the
    frames it used, its file's ``bpp`` and decoded ``psnr`` (RGB), and its encode seconds.
    ``failed``: why the final check refused its file (``bpp`` and ``psnr`` are then NaN: a failed
    point, not a rate point)."""

    quality: float
    frames: int
    bpp: float
    psnr: float
    seconds: float
    failed: str | None = None


@dataclass(frozen=True)
class RateControlResult:
    """What rate control (:mod:`codec.ratecontrol`) asked for and did: ``target`` (``"bpp"`` or
    ``"psnr"``) and its ``value``; the ``quality`` level of the file (fractional); the ``probes``
    and the full fits (``passes``: another when one missed, up to three; the file is the closest);
    ``clamped`` when the target lay beyond the ladder's ends; ``hit``: what the file measured, in
    the target's unit."""

    target: str
    value: float
    quality: float
    probes: tuple[Probe, ...]
    passes: tuple[Probe, ...]
    clamped: bool
    hit: float

    @property
    def error(self) -> float:
        """How far the file is from the target: relative for bpp, dB for PSNR."""
        return self.hit / self.value - 1 if self.target == "bpp" else self.hit - self.value

    @property
    def seconds(self) -> float:
        """Encode seconds of every probe and full fit."""
        return sum(p.seconds for p in self.probes + self.passes)

    def text(self) -> str:
        miss = f"{self.error:+.1%}" if self.target == "bpp" else f"{self.error:+.2f} dB"
        unit = "bpp" if self.target == "bpp" else "dB"
        end = " (beyond the ladder: its end level)" if self.clamped else ""
        return (f"rate control: target {self.value:g} {unit}, hit {self.hit:.4g} {unit} ({miss}) at quality "
                f"{self.quality:.2f}{end}; {len(self.probes)} probe fits on {self.probes[0].frames} frames, "
                f"{len(self.passes)} full fit{'s' if len(self.passes) > 1 else ''}, {self.seconds:.0f} s in all")


@dataclass(frozen=True)
class EncodeResult:
    """Outcome of :func:`codec.encode`. ``bpp`` comes from the written file's size; the quality
    figures are measured on frames decoded back from that file. ``threads``: the CPU threads it
    trained with (the same command with the same count gives the same file). ``frame_passes``: the
    training's work in frames rendered (steps times frames per step; a batch of patches counts as
    its share of a frame), so that ``encode_seconds / frame_passes`` is the cost of one.
    ``lmbda``: the rate-distortion lambda the family trained with (``None`` for one without).
    ``groups``: one :class:`GroupResult` per group for group-wise families, empty otherwise.
    ``rate_control``: what ``--target-bpp`` / ``--target-psnr`` did, when asked for.
    ``decode_seconds``: the render seconds of the measurement's decode of the file (README, "Speed
    figures": frames produced by the built network; no output written), :attr:`render_fps`.
    ``train_psnr`` / ``best_train_psnr``: the training PSNR at the end and the best seen (where the
    family reports them), ``restarts``: the divergence guards' restarts, ``restored``: their end check
    kept the best snapshot rather than the last state, ``retries``: encodes redone
    because the final check refused the file (:mod:`codec.finalcheck`). ``jobs``: the encode's
    tasks that could run at once (``--jobs``, ``--ray``; 1 for a family that runs as one job, and
    ``note`` then says why)."""

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
    rate_control: RateControlResult | None = None
    train_psnr: float | None = None
    best_train_psnr: float | None = None
    restarts: int = 0
    restored: bool = False
    retries: int = 0
    jobs: int = 1
    note: str | None = None

    @property
    def render_fps(self) -> float:
        """Frames per second of rendering the file's frames (README, "Speed figures")."""
        return self.num_frames / self.decode_seconds if self.decode_seconds > 0 else float("inf")


@dataclass(frozen=True)
class DecodeResult:
    """Outcome of :func:`codec.decode`: the frames written and two speeds (README, "Speed
    figures"): ``seconds``, the call's wall time (opening the stream, building the network,
    rendering, writing the output), and ``render_seconds``, the part spent rendering frames."""

    path: Path
    first_frame: int
    num_frames: int
    seconds: float
    render_seconds: float = 0.0

    @property
    def fps(self) -> float:
        """Decode speed: frames per wall second of the whole call."""
        return self.num_frames / self.seconds if self.seconds > 0 else float("inf")

    @property
    def render_fps(self) -> float:
        """Render speed: frames per second of rendering alone."""
        return self.num_frames / self.render_seconds if self.render_seconds > 0 else float("inf")
