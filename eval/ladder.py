"""Measuring a family's quality ladder (:mod:`codec.tools.ladder`): the logic behind
``scripts/sweep_ladder.py``.

A sweep encodes each clip on a grid of network sizes (``--density``: stored values per pixel),
lambdas and training lengths (steps), one CPU thread each, and measures every point from its
file (bpp) and the frames decoded from it (PSNR-RGB). Points are appended to a JSON-lines file
as they finish, so a sweep that is stopped resumes where it was. Then, per clip, the upper convex
hull of PSNR against log-rate; a grid cell is *on the hull* where it lies within a tolerance of
every clip's hull at its own rate; the proposed ladder is ``levels`` such cells spread evenly in
log-rate, checked to rise in rate and PSNR on every clip. Nothing here is asserted: it prints.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from codec.config import EncodeConfig
from eval import codec_bench as cb
from eval.plots import log_x_axes, outside_legend
from eval.datasets import folder_sources, prepare


@dataclass(frozen=True)
class SweepPoint:
    clip: str
    family: str
    density: float
    lmbda: float
    steps: int
    bpp: float
    psnr: float
    seconds: float

    @property
    def frames(self) -> int:
        return int(self.clip.rsplit(":", 1)[1])

    @property
    def length(self) -> float:
        """The training length in the family's ladder unit (epochs for the whole-clip families,
        the first group's steps for nirvana): the inverse of ``codec.family.Laddered.ladder_steps``."""
        from codec.registry import laddered

        return laddered(self.family).ladder_length(self.steps, self.frames)

    @property
    def cell(self) -> tuple[float, float, float]:
        """The grid cell: (density, lambda, length), what a ladder rung holds."""
        return (self.density, self.lmbda, round(self.length, 1))


def load(path: Path) -> list[SweepPoint]:
    if not path.is_file():
        return []
    return [SweepPoint(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def sweep(family: str, clips: list[tuple[str, int]], densities: list[float], lambdas: list[float],
          lengths: list[float], results: Path, workdir: Path, device: str = "cpu",
          options: dict | None = None) -> list[SweepPoint]:
    """Every (clip, length, density, lambda) point not yet in ``results``, appended there as it
    finishes; lengths in the family's ladder unit (``codec.family.Laddered.ladder_steps`` makes them steps)."""
    from codec.registry import laddered

    workdir.mkdir(parents=True, exist_ok=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    done = {(p.clip, p.family, p.density, p.lmbda, p.steps) for p in load(results)}
    for name, frames in clips:
        source = folder_sources(files=[name])[0]
        seq = prepare(source, frames=frames, cache_dir=workdir / "cache")
        clip = f"{Path(name).stem}:{seq.num_frames}"
        for n in sorted({laddered(family).ladder_steps(length, seq.num_frames) for length in lengths}):
            for density in densities:
                for lmbda in lambdas:
                    if (clip, family, density, lmbda, n) not in done:
                        _point(family, clip, seq, density, lmbda, n, results, workdir, device, options)
    return load(results)


def _point(family: str, clip: str, seq, density: float, lmbda: float, steps: int, results: Path, workdir: Path,
           device: str, options: dict | None) -> None:
    config = EncodeConfig.of(model=family, count=seq.num_frames, device=device, threads=1, progress=False,
                             density=density, lmbda=lmbda, steps=steps, **(options or {}))
    out = workdir / f"{family}_{clip.replace(':', '_')}_{density:g}_{lmbda:g}_{steps}.inrv"
    p = cb.encode_point(seq.path, out, config, f"d{density:g} l{lmbda:g} s{steps}")
    point = SweepPoint(clip, family, density, lmbda, steps, p.bpp, p.psnr_rgb, p.encode_s)
    with open(results, "a") as f:
        f.write(json.dumps(asdict(point)) + "\n")
    print(f"{clip:<16} steps {steps:<6} density {density:<8g} lambda {lmbda:<8g} {p.bpp:.4f} bpp "
          f"{p.psnr_rgb:6.2f} dB {p.encode_s:7.1f} s", flush=True)
    out.unlink(missing_ok=True)


def upper_hull(points: list[SweepPoint]) -> list[SweepPoint]:
    """The points on the upper convex hull of PSNR against log(bpp), by rising rate (each one
    also better than every cheaper point)."""
    pts = sorted(points, key=lambda p: (p.bpp, -p.psnr))
    hull: list[SweepPoint] = []
    for p in pts:
        if hull and p.psnr <= hull[-1].psnr:
            continue
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            xa, xb, xp = math.log(a.bpp), math.log(b.bpp), math.log(p.bpp)
            # b lies on or below the chord from a to p: not on the hull
            if (b.psnr - a.psnr) * (xp - xa) <= (p.psnr - a.psnr) * (xb - xa):
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def shortfall(point: SweepPoint, hull: list[SweepPoint]) -> float:
    """dB by which ``point`` lies below ``hull`` at its rate (0 on it; beyond the hull's ends,
    measured against the nearest end)."""
    x = [math.log(p.bpp) for p in hull]
    y = [p.psnr for p in hull]
    return max(0.0, float(np.interp(math.log(point.bpp), x, y)) - point.psnr)


@dataclass(frozen=True)
class Proposal:
    cells: list[tuple[float, float, float]]
    monotone: dict[str, bool]
    table: str


def propose(points: list[SweepPoint], levels: int = 8, tolerance: float = 0.3) -> Proposal:
    """``levels`` grid cells (density, lambda, length) near every clip's hull, spread evenly in
    log-rate (the mean over clips)."""
    clips = sorted({p.clip for p in points})
    by_clip = {c: [p for p in points if p.clip == c] for c in clips}
    hulls = {c: upper_hull(ps) for c, ps in by_clip.items()}
    cells = sorted({p.cell for p in points})
    complete = [cell for cell in cells if all(any(p.cell == cell for p in by_clip[c]) for c in clips)]
    worst, rate = {}, {}
    for cell in complete:
        at = [next(p for p in by_clip[c] if p.cell == cell) for c in clips]
        worst[cell] = max(shortfall(p, hulls[p.clip]) for p in at)
        rate[cell] = float(np.mean([math.log(p.bpp) for p in at]))
    near = sorted((c for c in complete if worst[c] <= tolerance), key=lambda c: rate[c])
    chosen: list[tuple[float, float, float]] = []
    if near:
        targets = np.linspace(rate[near[0]], rate[near[-1]], min(levels, len(near)))
        for t in targets:
            best = min((c for c in near if c not in chosen), key=lambda c: abs(rate[c] - t), default=None)
            if best is not None:
                chosen.append(best)
        chosen.sort(key=lambda c: rate[c])
    monotone = {}
    lines = [f"{'level':<6} {'density':>8} {'lambda':>8} {'length':>6} {'worst dB below hull':>20}  " +
             "  ".join(f"{c:>22}" for c in clips)]
    for i, cell in enumerate(chosen, 1):
        cols = []
        for c in clips:
            p = next(q for q in by_clip[c] if q.cell == cell)
            cols.append(f"{p.bpp:>8.4f} bpp {p.psnr:6.2f} dB")
        lines.append(f"q{i:<5} {cell[0]:>8g} {cell[1]:>8g} {cell[2]:>6} {worst[cell]:>20.2f}  "
                     + "  ".join(f"{x:>22}" for x in cols))
    for c in clips:
        seq = [next(q for q in by_clip[c] if q.cell == cell) for cell in chosen]
        monotone[c] = all(b.bpp > a.bpp and b.psnr > a.psnr for a, b in zip(seq, seq[1:]))
    lines.append("rises in rate and PSNR on " + ", ".join(f"{c}: {'yes' if ok else 'NO'}" for c, ok in monotone.items()))
    return Proposal(chosen, monotone, "\n".join(lines))


def hull_table(points: list[SweepPoint]) -> str:
    lines = []
    for clip in sorted({p.clip for p in points}):
        ps = [p for p in points if p.clip == clip]
        lines.append(f"{clip}: {len(ps)} points; upper hull (density, lambda, length, steps: bpp, PSNR-RGB, "
                     "encode s):")
        for p in upper_hull(ps):
            lines.append(f"  {p.density:<8g} {p.lmbda:<8g} {p.length:<6g} {p.steps:<6} {p.bpp:.4f} {p.psnr:6.2f} "
                         f"{p.seconds:7.1f}")
    return "\n".join(lines)


def plot(points: list[SweepPoint], folder: Path) -> list[Path]:
    """Per clip: every point (one line per density, over lambda) and the hull, PSNR against bpp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for clip in sorted({p.clip for p in points}):
        ps = [p for p in points if p.clip == clip]
        fig, ax = plt.subplots(figsize=(6, 4.4))
        for i, (d, n) in enumerate(sorted({(p.density, p.steps) for p in ps})):
            line = sorted((p for p in ps if (p.density, p.steps) == (d, n)), key=lambda p: p.bpp)
            ax.plot([p.bpp for p in line], [p.psnr for p in line], marker="o", markersize=3, linewidth=1,
                    color=f"C{i % 10}", label=f"density {d:g}, {n} steps")
        hull = upper_hull(ps)
        ax.plot([p.bpp for p in hull], [p.psnr for p in hull], color="black", linestyle="--", linewidth=1,
                label="upper hull")
        log_x_axes(ax, "bits per pixel (file)", "PSNR-RGB (dB, decoded file)")
        outside_legend(ax)
        family = ps[0].family
        steps = sorted({p.steps for p in ps})
        ax.set_title(f"{family} on {clip}: size x lambda x steps ({', '.join(map(str, steps))})")
        path = folder / f"ladder_{family}_{clip.replace(':', '_')}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths
