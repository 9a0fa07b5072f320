"""The bits ratio at equal quality: how many times an anchor's bits a method spends at its best
quality. The headline figure of the rate-distortion work ("inrv needs 8x the bits of x264 at
the same PSNR"), complementary to BD-rate, which needs overlapping quality ranges.

For a method's point of highest quality ``q*`` on a sequence, the anchor's rate at ``q*`` is read
off the anchor's curve: log-rate interpolated linearly in quality between the two anchor points
around ``q*``; outside the anchor's range, extrapolated from its two nearest points (marked
``~``), since conventional anchors are usually run at rates where inrv does not reach. The ratio
against several anchors (x264 and x265) takes, at each sequence, the anchor that needs the
fewest bits there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eval.bdrate import rd_curve
from eval.results import SequenceResults

__all__ = ["RatioResult", "RatioTable", "anchor_rate_at", "bits_ratio", "ratio_table"]


@dataclass(frozen=True)
class RatioResult:
    """``value`` = method bpp / anchor bpp at the method's best quality ``quality`` (None with the
    reason it cannot be computed); ``anchor`` names the anchor used; ``extrapolated`` when the
    anchor's curve does not reach that quality."""

    value: float | None
    quality: float | None = None
    anchor: str = ""
    extrapolated: bool = False
    reason: str = ""

    def text(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{'~' if self.extrapolated else ''}{self.value:.2f}x at {self.quality:.2f} dB ({self.anchor})"


def anchor_rate_at(rates: Sequence[float], quality: Sequence[float], q: float) -> tuple[float, bool] | None:
    """The anchor's rate at quality ``q`` (log-rate linear in quality) and whether it was
    extrapolated; None when the anchor's curve is unusable."""
    curve = rd_curve(rates, quality)
    if isinstance(curve, str):
        return None
    r, qs = curve
    i = int(min(max(1, sum(1 for x in qs if x < q)), len(qs) - 1))  # the segment qs[i-1]..qs[i]
    q0, q1, l0, l1 = qs[i - 1], qs[i], math.log(r[i - 1]), math.log(r[i])
    rate = math.exp(l0 + (l1 - l0) * (q - q0) / (q1 - q0))
    return rate, not (qs[0] <= q <= qs[-1])


def bits_ratio(test: SequenceResults, anchors: Mapping[str, SequenceResults], metric: str = "psnr-rgb") -> RatioResult:
    """The ratio of ``test``'s best point against the anchor that needs the fewest bits there."""
    points = [(b, q) for b, q in zip(test.series("bpp"), test.series(metric)) if b and q is not None and b > 0]
    if not points:
        return RatioResult(None, reason="no point")
    bpp, q = max(points, key=lambda p: p[1])
    best: RatioResult | None = None
    for name, results in anchors.items():
        found = anchor_rate_at(results.series("bpp"), results.series(metric), q)
        if found is None:
            continue
        rate, extrapolated = found
        result = RatioResult(bpp / rate, q, name, extrapolated)
        if best is None or result.value > best.value:  # the anchor that needs fewer bits
            best = result
    return best or RatioResult(None, q, reason="no usable anchor curve")


@dataclass(frozen=True)
class RatioTable:
    """Bits ratios of ``methods`` per sequence against the best of ``anchors``."""

    anchors: tuple[str, ...]
    sequences: tuple[str, ...]
    methods: tuple[str, ...]
    values: Mapping[tuple[str, str], RatioResult]

    def to_markdown(self) -> str:
        head = ["method", *self.sequences]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in self.methods:
            lines.append("| " + " | ".join([m, *(self.values[(m, s)].text() for s in self.sequences)]) + " |")
        return "\n".join(lines)


def ratio_table(runs: Mapping[tuple[str, str], SequenceResults], anchors: Sequence[str],
                metric: str = "psnr-rgb") -> RatioTable | None:
    """The table for ``runs`` keyed by (sequence, method): every method that is not an anchor, on
    every sequence; None when no anchor was run."""
    present = tuple(a for a in anchors if any(m == a for _, m in runs))
    if not present:
        return None
    sequences = tuple(dict.fromkeys(s for s, _ in runs))
    methods = tuple(m for m in dict.fromkeys(m for _, m in runs) if m not in present)
    values = {}
    for m in methods:
        for s in sequences:
            test = runs.get((s, m))
            values[(m, s)] = (bits_ratio(test, {a: runs[(s, a)] for a in present if (s, a) in runs}, metric)
                              if test is not None else RatioResult(None, reason="not run"))
    return RatioTable(present, sequences, methods, values)
