"""Rate control: ``--target-bpp B`` / ``--target-psnr D`` for the families with a quality ladder
(:mod:`codec.tools.ladder`: nerv, hnerv, nirvana, grid).

The encoder searches the ladder's quality axis, fractional levels included (size, lambda and
training length interpolated between rungs), for the point whose file meets the target, from
*probe fits*: the same family encoded at the same per-pixel size, lambda and training length on a
short run of consecutive frames from the middle of the clip (a quarter of it, at least 8 frames,
for the whole-clip families; two groups for nirvana), each probe a real file measured like any
encode. A whole-clip family's network grows with the clip and its steps with the frames (epochs),
so a probe on a quarter of the frames costs about a sixteenth of the full fit.

The search brackets the target on log-bpp (or PSNR) against the level and interpolates between
the bracketing probes (regula falsi), at most :data:`MAX_PROBES` probes, stopping when a probe is
within :data:`PROBE_TOLERANCE` of the target; then it runs the full fit at the interpolated level
with the level's parameters given explicitly (``--density``, ``--lmbda``, ``--steps``).

Short probes sit off the full fit's curve (fewer steps and a smaller network than the full fit:
on carphone, 32 frames, a probe at nerv's level 2.25 gave about 0.1 bpp where the full fit gave
0.06). So when the full fit misses by more than :data:`FULL_TOLERANCE`, a second full fit runs
at the level where the probes' curve, shifted by the first fit's offset from it, meets the
target, and when that misses too, a third on the secant through the two (the second landed at
level 4.5 and 0.117 bpp there; the secant gives 3.96, and level 4 measured 0.100); the file is
the closest of them. :class:`codec.results.RateControlResult` reports the
target, the level, the probes, the full fits and what the file hit. A target outside the
ladder's range gets its end level (said in the result).

Every probe and full fit is one run of the single-fit encoder (:func:`codec.encoder.encode_once`);
the family must have a quality ladder (:class:`codec.family.Laddered`). A fit whose file the
encoder's final check refused (:mod:`codec.finalcheck`) is a failed point (a :class:`Probe` with
``failed`` set, listed in the result), never a rate point: the search goes on from the measured
probes; a refused full fit ends the passes with the closest kept file, and when no probe or no
full fit was kept the encode raises :class:`codec.errors.EncodeRejected` and writes nothing.
"""

from __future__ import annotations

import math
import tempfile
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from codec import encoder
from codec.config import EncodeConfig
from codec.errors import ConfigError, EncodeRejected
from codec.family import Laddered
from codec.registry import laddered
from codec.results import EncodeResult, Probe, RateControlResult

#: Probe fits at most, before the full fit.
MAX_PROBES = 4
#: A full fit further than this from the target (relative bpp as a log, dB) is followed by
#: another, at most MAX_PASSES: the second at the level corrected by the first's offset from the
#: probes, the third on the secant through the first two.
FULL_TOLERANCE = {"bpp": math.log1p(0.08), "psnr": 0.25}
MAX_PASSES = 3
#: A probe this close to the target ends the search: relative bpp, or dB.
PROBE_TOLERANCE = {"bpp": 0.03, "psnr": 0.1}


def _searched(target: str, value: float) -> float:
    """A bpp or PSNR in the unit the search works in: log-bpp (rate control on the rate) or dB."""
    return math.log(value) if target == "bpp" else value


def _measure(probe: Probe, target: str) -> float:
    """A fit's bpp or PSNR in the searched unit."""
    return _searched(target, probe.bpp if target == "bpp" else probe.psnr)


def measured(probes: list[Probe]) -> list[Probe]:
    """The fits whose files were kept: a fit the final check refused (``failed``) is a failed
    point, not a rate point, and takes no part in the search."""
    return [p for p in probes if p.failed is None]


def _sides(probes: list[Probe], target: str, value: float):
    """The goal in the searched unit, the measured probes as sorted (level, value) points, and
    those under and over the goal."""
    goal = _searched(target, value)
    pts = sorted({p.quality: _measure(p, target) for p in measured(probes)}.items())
    return goal, pts, [(q, y) for q, y in pts if y < goal], [(q, y) for q, y in pts if y >= goal]


def next_level(probes: list[Probe], target: str, value: float, top: int) -> float | None:
    """The level to probe next (``None``: none left to try, or no probe was measured): between the
    closest probes on either side of the target when it is bracketed, else a step past the end
    probe toward it (the slope of the two nearest probes when they exist, else 2.5 levels). A
    level already tried, measured or failed, is not tried again."""
    goal, pts, below, above = _sides(probes, target, value)
    if not pts:
        return None
    if below and above:
        (q0, y0), (q1, y1) = max(below), min(above)
        if y1 == y0:
            return None
        q = q0 + (goal - y0) * (q1 - q0) / (y1 - y0)
    else:
        end = max(pts) if not above else min(pts)
        if len(pts) >= 2:
            (qa, ya), (qb, yb) = pts[-2:] if not above else pts[:2]
            slope = (yb - ya) / (qb - qa) if qb != qa else 0.0
        else:
            slope = 0.0
        step = (goal - end[1]) / slope if slope > 0 else (2.5 if not above else -2.5)
        q = end[0] + max(-3.0, min(3.0, step))
    q = min(float(top), max(1.0, q))
    if any(abs(q - p.quality) < 0.05 for p in probes):
        return None
    return q


def final_level(probes: list[Probe], target: str, value: float, top: int) -> tuple[float, bool]:
    """The level for the full fit: interpolated between the probes that bracket the target, or the
    ladder's end (``True``: clamped) when every probe lies on one side of it at that end."""
    goal, pts, below, above = _sides(probes, target, value)
    if below and above:
        (q0, y0), (q1, y1) = max(below), min(above)
        q = q1 if y1 == y0 else q0 + (goal - y0) * (q1 - q0) / (y1 - y0)
        return min(float(top), max(1.0, q)), False
    if not above:  # everything under the target: as high as probed
        q = max(pts)[0]
        return q, q >= top
    q = min(pts)[0]
    return q, q <= 1


def probe_range(family: Laddered, enc: EncodeConfig, start: int, count: int) -> tuple[int, int]:
    """The frames the probes fit: ``family.probe_frames`` consecutive frames from the middle of
    ``start .. start + count - 1``."""
    n = min(count, family.probe_frames(enc, count))
    return start + (count - n) // 2, n


def level_options(family: Laddered, enc: EncodeConfig, quality: float, frames: int) -> EncodeConfig:
    """``enc`` with the ladder point ``quality`` given explicitly (density, lambda, steps)."""
    rung = family.ladder.at(quality)
    options = replace(enc.options, target_bpp=None, target_psnr=None, density=rung.size, lmbda=rung.lmbda,
                      steps=family.ladder_steps(rung.length, frames))
    return replace(enc, options=options)


def _probe_curve(probes: list[Probe], target: str, level: float) -> float:
    """The probes' value at ``level``, linear between them (the nearest probe's beyond them)."""
    pts = sorted({p.quality: _measure(p, target) for p in measured(probes)}.items())
    return float(np.interp(level, [q for q, _ in pts], [y for _, y in pts]))


def search(src: Path, enc: EncodeConfig, family: Laddered, first: int, n: int, tmp: Path) -> list[Probe]:
    """The probe fits on frames ``first .. first + n - 1`` (see the module)."""
    target, value = enc.options.target
    goal = _searched(target, value)
    tolerance = math.log1p(PROBE_TOLERANCE["bpp"]) if target == "bpp" else PROBE_TOLERANCE["psnr"]
    probes: list[Probe] = []
    q: float | None = (1 + family.ladder.top) / 2
    with tqdm(total=MAX_PROBES, desc="rate control probes", disable=not enc.progress, leave=False,
              unit="fit") as bar:
        while q is not None and len(probes) < MAX_PROBES:
            probe_enc = replace(level_options(family, enc, q, n), start=first, count=n, progress=False)
            probes.append(_fit(src, tmp / f"probe{len(probes)}.inrv", probe_enc, q, n)[1])
            bar.update(1)
            bar.set_postfix_str(f"q {q:.2f}: " + (f"{probes[-1].bpp:.4f} bpp {probes[-1].psnr:.2f} dB"
                                                   if probes[-1].failed is None else "refused"))
            if probes[-1].failed is None and abs(_measure(probes[-1], target) - goal) <= tolerance:
                break
            q = next_level(probes, target, value, family.ladder.top)
            if q is None and not measured(probes):  # refused probes alone: a level lower, else higher
                q = next((level for level in (probes[-1].quality - 1, probes[-1].quality + 1)
                          if 1 <= level <= family.ladder.top and all(abs(level - p.quality) >= 0.05 for p in probes)),
                         None)
    return probes


def _fit(src: Path, dst: Path, enc: EncodeConfig, level: float, frames: int) -> tuple[EncodeResult | None, Probe]:
    """One run of the single-fit encoder at ``level``: its result and its :class:`Probe`, or, when
    the final check refused its file (:class:`EncodeRejected`), None and a failed probe."""
    t0 = time.perf_counter()
    try:
        r = encoder.encode_once(src, dst, enc)
    except EncodeRejected as exc:
        return None, Probe(level, frames, math.nan, math.nan, time.perf_counter() - t0, failed=str(exc))
    return r, Probe(level, frames, r.bpp, r.psnr_rgb, r.encode_seconds)


def _refused(what: str, fits: list[Probe]) -> EncodeRejected:
    return EncodeRejected(f"rate control: {what} refused by the final check; the last: {fits[-1].failed}")


def encode_to_target(src: Path, dst: Path, enc: EncodeConfig, start: int, count: int) -> EncodeResult:
    """Rate control's encode (see the module): probes, then up to :data:`MAX_PASSES` full fits,
    the one closest to the target renamed to ``dst``."""
    family = laddered(enc.model)
    target, value = enc.options.target
    if enc.quality is not None:
        raise ConfigError(f"--target-{target} chooses the quality level itself: it does not go with --quality")
    goal = _searched(target, value)
    first, n = probe_range(family, enc, start, count)
    with tempfile.TemporaryDirectory(prefix=".inrv-rate-", dir=dst.parent) as name:
        tmp = Path(name)
        probes = search(src, enc, family, first, n, tmp)
        if not measured(probes):
            raise _refused("every probe fit was", probes)
        level, _ = final_level(probes, target, value, family.ladder.top)
        passes: list[tuple[EncodeResult, Probe]] = []
        fits: list[Probe] = []  # the full fits in order, refused ones included
        while True:
            full = level_options(family, enc, level, count)
            r, fit = _fit(src, tmp / f"full{len(fits)}.inrv", full, level, count)
            fits.append(fit)
            if r is None:  # a failed point: the fits kept so far decide, or none was kept
                if not passes:
                    raise _refused("the full fit was", fits)
                break
            passes.append((r, fit))
            miss = _measure(fit, target) - goal
            # only a full fit says that the target lies beyond the ladder's end (probes may not)
            clamped = (level >= family.ladder.top and miss < 0) or (level <= 1 and miss > 0)
            if clamped or len(fits) == MAX_PASSES or abs(miss) <= FULL_TOLERANCE[target]:
                break
            if len(passes) == 1:
                # the full fit sits off the probes' curve by about the same amount near this level:
                # aim the curve at the goal less that offset
                offset = _measure(passes[-1][1], target) - _probe_curve(probes, target, level)
                shifted = math.exp(goal - offset) if target == "bpp" else goal - offset
                again, _ = final_level(probes, target, shifted, family.ladder.top)
                if abs(again - level) < 0.05:
                    break
            else:  # two full fits: the secant through them
                again = next_level([p for _, p in passes], target, value, family.ladder.top)
                if again is None:
                    break
            level = again
        best, chosen = min(passes, key=lambda rp: abs(_measure(rp[1], target) - goal))
        os.replace(best.path, dst)
    hit = best.bpp if target == "bpp" else best.psnr_rgb
    control = RateControlResult(target, value, chosen.quality, tuple(probes), tuple(fits), clamped, hit)
    return replace(best, path=dst, rate_control=control)
