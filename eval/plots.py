"""Rate-distortion plots (matplotlib, Agg backend, PNG): one per sequence and one for the average;
and time-quality plots of encoders (PSNR against encode seconds, :func:`time_plot`).

Each figure has PSNR-RGB, PSNR-YUV and MS-SSIM against bpp (log scale, labelled at three or more
ticks: 1-2-5 steps, finer where the points span less than a decade). Our curves are solid with
markers; inrv families and anchors get different marker shapes. Legends stand outside the axes
(right of the panels), so that they never cover a point. On UVG the published curves of
:mod:`eval.published` are drawn on the PSNR-RGB panel in thin dashed grey tones, labelled
"(published)", and are only shown on the averaged plot (they are UVG averages).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

from eval.published import PublishedCurve

__all__ = ["Curve", "TimeCurve", "rd_plot", "time_plot", "log_x_axes", "log_ticks", "outside_legend"]

PANELS = (("psnr-rgb", "PSNR-RGB (dB)"), ("psnr-yuv", "PSNR-YUV 6:1:1 (dB)"), ("ms-ssim", "MS-SSIM (RGB)"))


@dataclass(frozen=True)
class Curve:
    """One method's curve: label, kind (``"inrv"``/``"anchor"``) and its results lists by key."""

    label: str
    kind: str
    series: dict


@dataclass(frozen=True)
class TimeCurve:
    """One encoder's sweep of training lengths: encode seconds and the PSNR each file reached."""

    label: str
    seconds: tuple[float, ...]
    psnr: tuple[float, ...]


def _points(curve: Curve, key: str) -> tuple[list[float], list[float]]:
    pairs = [
        (float(r), float(q))
        for r, q in zip(curve.series.get("bpp", []), curve.series.get(key, []))
        if r is not None and q is not None and r > 0
    ]
    pairs.sort()
    return [p[0] for p in pairs], [p[1] for p in pairs]


def rd_plot(path: Path, title: str, curves: Seq[Curve], published: Seq[PublishedCurve] = ()) -> Path:
    """Draw ``curves`` (and ``published`` ones, PSNR-RGB only) into a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if any(_points(c, p[0])[0] for c in curves)] or list(PANELS[:1])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    markers = {"inrv": "o", "anchor": "s"}
    for ax, (key, label) in zip(axes[0], panels):
        for i, curve in enumerate(curves):
            x, y = _points(curve, key)
            if x:
                ax.plot(x, y, marker=markers.get(curve.kind, "^"), markersize=4, linewidth=1.5,
                        color=f"C{i % 10}", label=curve.label)
        if key == "psnr-rgb":
            for j, pub in enumerate(published):
                style = "--" if len(pub.points) > 1 else "none"
                ax.plot(pub.bpp, pub.psnr, linestyle=style, marker="x", markersize=4, linewidth=0.9,
                        color=str(0.25 + 0.5 * j / max(len(published), 1)), label=f"{pub.label} (published)")
        log_x_axes(ax, "bits per pixel", label)
    outside_legend(axes[0][-1], axes[0][0])
    fig.suptitle(title)
    return _save(plt, fig, path)


def time_plot(path: Path, title: str, curves: Seq[TimeCurve], guides: Seq[TimeCurve] = ()) -> Path:
    """PSNR against encode seconds on a log scale, one line per curve, into a PNG at ``path``:
    the horizontal gap between two curves at a PSNR is their speed ratio there. ``guides`` are
    drawn dotted in black (e.g. a curve at 5x another's seconds: what lies left of it is less than
    5x slower)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for i, curve in enumerate(curves):
        pairs = sorted(zip(curve.seconds, curve.psnr))
        ax.plot([a for a, _ in pairs], [b for _, b in pairs], marker="o", markersize=4, linewidth=1.5,
                color=f"C{i % 10}", label=curve.label)
    for guide in guides:
        pairs = sorted(zip(guide.seconds, guide.psnr))
        ax.plot([a for a, _ in pairs], [b for _, b in pairs], linestyle=":", linewidth=1.4, color="black",
                label=guide.label)
    log_x_axes(ax, "encode seconds", "PSNR-RGB (dB), decoded from the file")
    outside_legend(ax)
    ax.set_title(title)
    return _save(plt, fig, path)


#: Mantissas of the labelled ticks of a log axis, coarsest first: the first that puts
#: :data:`MIN_LABELS` ticks inside the axis is used.
LOG_TICKS = ((1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), tuple(float(m) for m in range(1, 10)),
             tuple(m / 2 for m in range(2, 20)))
MIN_LABELS = 3


def log_ticks(lo: float, hi: float) -> tuple[float, ...]:
    """The tick mantissas for a log axis from ``lo`` to ``hi`` (see :data:`LOG_TICKS`)."""
    import math

    for subs in LOG_TICKS:
        inside = [m * 10.0**k for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                  for m in subs if lo <= m * 10.0**k <= hi]
        if len(inside) >= MIN_LABELS:
            return subs
    return LOG_TICKS[-1]


def log_x_axes(ax, xlabel: str, ylabel: str, ticks: tuple[float, ...] | None = None) -> None:
    """A log-scale x axis labelled in plain numbers at ``ticks`` x 10^k (default: :func:`log_ticks`
    of the drawn range, so that at least three ticks carry a number), a grid. Call it after drawing."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=ticks or log_ticks(lo, hi), numticks=30))
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)


def outside_legend(ax, source=None) -> None:
    """The legend of ``source``'s lines (default ``ax``'s) right of ``ax``, outside every axes: it
    cannot cover a point (the figure grows to hold it when saved)."""
    handles, labels = (source or ax).get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
