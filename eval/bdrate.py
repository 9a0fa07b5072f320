"""Bjontegaard-delta rate of every method against one anchor, per sequence and averaged.

BD-rate is computed by the ``bjontegaard`` package: log10 of the rate as a function of quality,
interpolated (``akima`` by default, or ``pchip``), integrated over the *overlapping* quality range of
the two curves; the result is the mean rate change in percent at equal quality (negative = fewer
bits than the anchor). A curve with fewer than two points, a curve whose quality does not rise
strictly with rate, or two curves whose quality ranges do not overlap give "n/a" with the reason.
The average over sequences is the mean of the per-sequence values that exist; when some are n/a it
says over how many sequences it was taken.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from codec.errors import ConfigError
from eval.results import SequenceResults

__all__ = ["BDResult", "BDTable", "bd_rate", "bd_table", "rd_curve", "INTERPOLATIONS"]

INTERPOLATIONS = ("akima", "pchip")


@dataclass(frozen=True)
class BDResult:
    """A BD-rate in percent, or None with the reason it cannot be computed."""

    value: float | None
    reason: str = ""

    def text(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{self.value:+.1f}%" + (f" ({self.reason})" if self.reason else "")


def rd_curve(rates, quality) -> tuple[np.ndarray, np.ndarray] | str:
    """Finite points sorted by rate, or the reason the curve is unusable."""
    pts = sorted(
        (float(r), float(q))
        for r, q in zip(rates, quality)
        if r is not None and q is not None and math.isfinite(float(r)) and math.isfinite(float(q)) and float(r) > 0
    )
    if len(pts) < 2:
        return f"{len(pts)} usable point(s), need 2"
    r, q = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    if np.any(np.diff(r) <= 0) or np.any(np.diff(q) <= 0):
        return "quality does not rise strictly with rate"
    return r, q


def bd_rate(anchor_rate, anchor_quality, test_rate, test_quality, *, interpolation: str = "akima") -> BDResult:
    """BD-rate (percent) of the test curve against the anchor curve."""
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"BD interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
    anchor = rd_curve(anchor_rate, anchor_quality)
    if isinstance(anchor, str):
        return BDResult(None, f"anchor: {anchor}")
    test = rd_curve(test_rate, test_quality)
    if isinstance(test, str):
        return BDResult(None, f"test: {test}")
    lo, hi = max(anchor[1].min(), test[1].min()), min(anchor[1].max(), test[1].max())
    if not lo < hi:
        return BDResult(None, "quality ranges do not overlap")
    import bjontegaard

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard.bd_rate(
            anchor[0], anchor[1], test[0], test[1], method=interpolation, require_matching_points=False, min_overlap=0
        )
    value = float(value)
    if not math.isfinite(value):
        return BDResult(None, "interpolation failed")
    return BDResult(value)


@dataclass(frozen=True)
class BDTable:
    """BD-rates of ``methods`` against ``anchor`` on ``metric`` for each sequence and on average."""

    anchor: str
    metric: str
    interpolation: str
    sequences: tuple[str, ...]
    methods: tuple[str, ...]
    values: Mapping[tuple[str, str], BDResult]
    average: Mapping[str, BDResult]

    def to_markdown(self) -> str:
        """A Markdown table: one row per method, one column per sequence, then the average."""
        head = ["method", *self.sequences, "average"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in self.methods:
            cells = [self.values[(m, s)].text() for s in self.sequences] + [self.average[m].text()]
            lines.append("| " + " | ".join([m, *cells]) + " |")
        reasons = sorted({f"{m} on {s}: {r.reason}" for (m, s), r in self.values.items() if r.value is None})
        if reasons:
            lines += ["", "n/a: " + "; ".join(reasons)]
        return "\n".join(lines)


def _average(results: list[BDResult]) -> BDResult:
    known = [r.value for r in results if r.value is not None]
    if not known:
        return BDResult(None, "no sequence has a value")
    reason = "" if len(known) == len(results) else f"{len(known)} of {len(results)} sequences"
    return BDResult(sum(known) / len(known), reason)


def bd_table(
    runs: Mapping[tuple[str, str], SequenceResults],
    anchor: str,
    *,
    metric: str = "psnr-rgb",
    interpolation: str = "akima",
) -> BDTable:
    """The table for ``runs`` keyed by (sequence, method); every method but the anchor gets a row."""
    sequences = tuple(dict.fromkeys(s for s, _ in runs))
    methods = tuple(m for m in dict.fromkeys(m for _, m in runs) if m != anchor)
    if not any(m == anchor for _, m in runs):
        raise ConfigError(f"the BD-rate anchor {anchor!r} is not among the evaluated methods")
    values: dict[tuple[str, str], BDResult] = {}
    for m in methods:
        for s in sequences:
            a, t = runs.get((s, anchor)), runs.get((s, m))
            if a is None or t is None:
                values[(m, s)] = BDResult(None, "not run")
                continue
            values[(m, s)] = bd_rate(
                a.series("bpp"), a.series(metric), t.series("bpp"), t.series(metric), interpolation=interpolation
            )
    average = {m: _average([values[(m, s)] for s in sequences]) for m in methods}
    return BDTable(anchor, metric, interpolation, sequences, methods, values, average)
