"""The rate-distortion benchmark behind ``scripts/bench_rd.py``: every fitting family at
its quality levels against x264 / x265 medium and SVT-AV1 on a few clips, through the ``inrv eval``
machinery (:func:`eval.sweep.run_sweep` for the points, :func:`eval.report.build_report` for the
plots and the Markdown report), then per clip and family: BD-rate on PSNR-RGB against x264-medium
and x265-medium (:func:`eval.bdrate.bd_table`), the bits ratio at the family's best PSNR against the
better of the two (:func:`eval.ratio.ratio_table`), encode seconds per point (mean, max) and the
PSNR range; and per family the worst clip's ratio.

Clips are ``NAME:FRAMES[/SCALE]``: a sample clip's name (``carphone``, ``bikes``, ``bigbuckbunny``)
or a video file, its first FRAMES frames, both sides divided by SCALE (default 1). Results live
under ``OUT/results/rd/<clip>/<method>.json`` and are resumed point by point. Nothing here is
asserted: the numbers are printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

from codec.config import QUALITIES
from codec.errors import ConfigError
from eval.base import Method
from eval.bdrate import BDResult, bd_table
from eval.datasets import ClipSpec, Sequence, folder_sources, parse_clips, prepare
from eval.inrv import InrvMethod
from eval.methods import InrvOptions, get_methods
from eval.ratio import RatioResult, ratio_table
from eval.report import RATIO_ANCHORS, Report, build_report
from eval.results import PointResult, SequenceResults
from eval.sweep import SweepConfig, SweepOutcome, run_sweep

__all__ = [
    "BASELINE_LAMBDAS", "BD_ANCHORS", "DATASET", "DEFAULT_ANCHORS", "DEFAULT_CLIPS", "DEFAULT_FAMILIES", "METRIC",
    "BenchConfig", "ClipSpec", "FamilySummary", "Row", "ThreadedInrv",
    "baseline_methods", "bench_methods", "bench_rows", "clip_names", "family_summaries", "format_baseline",
    "format_between",
    "format_rows", "format_summaries", "main", "parse_baseline",
    "parse_clips", "parse_qualities", "prepare_clips", "run_points", "use_threads", "write_report",
]

#: The dataset label of the result files (``OUT/results/rd/...``).
DATASET = "rd"
#: The full run's clips (docs/quality.md): bigbuckbunny (1280x720) halved to 640x360.
DEFAULT_CLIPS = "carphone:120,bikes:64,bigbuckbunny:64/2"
DEFAULT_FAMILIES = "nerv,hnerv,nirvana"
DEFAULT_ANCHORS = "x264-medium,x265-medium,svtav1"
#: BD-rates are taken against each of these; the bits ratio against the better of them.
BD_ANCHORS: tuple[str, ...] = tuple(RATIO_ANCHORS)
METRIC = "psnr-rgb"


# -- options --------------------------------------------------------------------------------------


def parse_qualities(text: str) -> tuple[int, ...]:
    """``"1..8"`` or ``"1,3,8"`` (or both, comma-separated) -> quality levels, each in the ladder's range."""
    out: list[int] = []
    for item in (i.strip() for i in text.split(",")):
        lo, dots, hi = item.partition("..")
        try:
            levels = range(int(lo), int(hi) + 1) if dots else [int(item)]
        except ValueError:
            raise ConfigError(f"--qualities: expected levels like 1..8 or 1,2,5, got {item!r}") from None
        if not levels:
            raise ConfigError(f"--qualities: {item!r} is an empty range")
        for q in levels:
            if q not in QUALITIES:
                raise ConfigError(f"--qualities: {q} is outside {QUALITIES[0]}..{QUALITIES[-1]}")
            if q not in out:
                out.append(q)
    return tuple(out)


@dataclass(frozen=True)
class BenchConfig:
    """What to run: clips, families at ``qualities``, anchors at ``anchor_points`` CRFs, where.
    ``steps`` (None: the ladder's training length) exists for smoke runs only; ``overwrite`` redoes
    result files made with other settings instead of refusing them."""

    clips: tuple[ClipSpec, ...]
    out: Path
    families: str = DEFAULT_FAMILIES
    anchors: str = DEFAULT_ANCHORS
    qualities: tuple[int, ...] = tuple(QUALITIES)
    anchor_points: int = 8
    threads: int = 1
    device: str = "cpu"
    steps: int | None = None
    progress: bool = True
    overwrite: bool = False
    command: str | None = None
    baseline: str | None = None
    jobs: int | None = None

    def __post_init__(self) -> None:
        if not self.clips or not self.qualities:
            raise ConfigError("no clips or no quality levels to run")
        for name, value in (("--anchor-points", self.anchor_points), ("--threads", self.threads),
                            ("--steps", 1 if self.steps is None else self.steps)):
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")


#: The baseline's lambdas: what ``--quality`` 1..8 meant before the ladders (one network size).
BASELINE_LAMBDAS = (3e-2, 1.5e-2, 7e-3, 3.5e-3, 1.7e-3, 8e-4, 4e-4, 2e-4)
BASELINE_SUFFIX = "-base"


def parse_baseline(text: str) -> dict:
    """``"preset:s,steps:1500"`` -> the baseline's fixed options (numbers as numbers)."""
    out: dict = {}
    for item in text.split(","):
        key, colon, value = item.strip().partition(":")
        if not colon or not key or not value:
            raise ConfigError(f"--baseline: {item!r} is not KEY:VALUE (e.g. preset:s,steps:1500)")
        try:
            out[key.replace("-", "_")] = int(value) if value.isdigit() else float(value)
        except ValueError:
            out[key.replace("-", "_")] = value
    return out


def baseline_methods(families: Seq[Method], baseline: str, *, threads: int, device: str) -> list[Method]:
    """Each family at the fixed options of ``baseline`` (one size, the lambdas of
    :data:`BASELINE_LAMBDAS`), named ``<family>-base``: what the ladder is measured against."""
    options = parse_baseline(baseline)
    return [InrvMethod(m.name, threads=threads, device=device, options=options, name=m.name + BASELINE_SUFFIX)
            for m in families]


def bench_methods(families: str, anchors: str, *, threads: int = 1, steps: int | None = None,
                  device: str = "cpu", jobs: int | None = None) -> tuple[list[Method], list[Method]]:
    """The families and the anchors by name (``eval.methods`` names and aliases); :class:`ConfigError`
    for an unknown name or one given on the wrong side."""
    fams = get_methods(families, InrvOptions(steps=steps, device=device)) if families.strip() else []
    anchor_methods = get_methods(anchors) if anchors.strip() else []
    wrong = [m.name for m in fams if m.kind != "inrv"] + [m.name for m in anchor_methods if m.kind != "anchor"]
    if wrong:
        raise ConfigError(f"{', '.join(wrong)}: inrv families go to --families, conventional encoders to --anchors")
    if not fams and not anchor_methods:
        raise ConfigError("--families: no family given (e.g. nerv,hnerv,nirvana)")
    return [InrvMethod(m.name, threads=threads, steps=steps, device=device, jobs=jobs) for m in fams], anchor_methods


def _sources(clips: Seq[ClipSpec]):
    """The clips' sources, resolved as ``inrv eval --files`` does (sample names, files), in order."""
    sources = folder_sources(files=[c.name for c in clips])
    if len(sources) != len(clips):
        raise ConfigError(f"--clips: two entries name the same video ({', '.join(c.name for c in clips)})")
    return sources


def clip_names(clips: Seq[ClipSpec]) -> list[str]:
    """The sequence names the clips' results are filed under (a file's name is its stem)."""
    return [s.name for s in _sources(clips)]


def prepare_clips(clips: Seq[ClipSpec], cache_dir: Path) -> list[Sequence]:
    """The evaluated sequences: each clip's first frames, shrunk, as lossless files (made once in ``cache_dir``)."""
    return [prepare(s, frames=c.frames, scale=c.scale, cache_dir=cache_dir)
            for c, s in zip(clips, _sources(clips), strict=True)]


def use_threads(threads: int) -> None:
    """One CPU thread count for every inrv encode (``INRV_THREADS``, read by ``codec.encode``), the
    OpenMP pools and torch in this process (the measurement's MS-SSIM)."""
    os.environ["INRV_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


# -- running --------------------------------------------------------------------------------------


def _point_line(seq: Sequence, method: Method, point: PointResult) -> str:
    return (f"{seq.name} {method.name} {point.key}: {point.bpp:.4f} bpp, {point.psnr_rgb:.2f} dB, "
            f"encode {point.encode_s:.2f} s")


def run_points(config: BenchConfig, sequences: list[Sequence], methods: list[Method]) -> SweepOutcome:
    """Every missing point (families at ``config.qualities``, anchors at ``config.anchor_points`` CRFs),
    saved as it finishes; a line per point on stdout."""
    from tqdm import tqdm

    values = {m.name: tuple(str(q) for q in config.qualities) if not m.name.endswith(BASELINE_SUFFIX)
              else tuple(f"{lm:g}" for lm in BASELINE_LAMBDAS) for m in methods if m.kind == "inrv"}
    sweep = SweepConfig(out=config.out, dataset=DATASET, points=config.anchor_points, values=values,
                        progress=config.progress, overwrite=config.overwrite)
    return run_sweep(sequences, methods, sweep, on_point=lambda s, m, p: tqdm.write(_point_line(s, m, p)))


def write_report(config: BenchConfig, sequences: list[str], methods: list[Method], ran: str | None) -> Report:
    """``OUT/report.md`` and the RD plots (``OUT/plots/rd/<clip>.png``) from the saved results; ``ran``:
    points run / reused, None for a report of saved results only (their settings are in its Methods)."""
    anchors = [m.name for m in methods if m.kind == "anchor"]
    settings = {
        "clips": ", ".join(c.text for c in config.clips),
        "families, quality levels": f"{', '.join(m.name for m in methods if m.kind == 'inrv')}; "
                                    f"{', '.join(map(str, config.qualities))}",
        "anchors": ", ".join(anchors) or "none",
    }
    if ran is None:
        settings["training length, threads, device, anchor CRFs"] = "as saved (see Methods and Points)"
        settings["points run / reused"] = "none (a report of saved results)"
    else:
        settings |= {
            "training length": "the quality ladder's" if config.steps is None else f"{config.steps} steps (smoke run)",
            "anchor CRF points": config.anchor_points,
            "inrv CPU threads per encode": config.threads,
            "inrv device": config.device,
            "points run / reused": ran,
        }
    anchor = next((a for a in (*reversed(BD_ANCHORS), *anchors) if a in anchors), "")
    return build_report(config.out, DATASET, sequences, [m.name for m in methods], anchor=anchor, settings=settings,
                        kinds={m.name: m.kind for m in methods}, command=config.command)


# -- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One method on one clip: BD-rates against each of :data:`BD_ANCHORS` (the anchor itself: None),
    the bits ratio at its best PSNR (families; None for anchors), encode seconds per point, PSNR range."""

    clip: str
    method: str
    points: int
    bd: Mapping[str, BDResult | None]
    ratio: RatioResult | None
    encode_mean: float
    encode_max: float
    psnr_min: float
    psnr_max: float


@dataclass(frozen=True)
class FamilySummary:
    """A family over the clips: its worst (highest) bits ratio and that clip, BD-rates averaged over
    clips, encode seconds per point over every clip."""

    family: str
    worst: RatioResult
    worst_clip: str
    bd: Mapping[str, BDResult]
    encode_mean: float
    encode_max: float
    points: int


def _bd_tables(runs: Mapping[tuple[str, str], SequenceResults], anchors: Seq[str]) -> dict:
    present = {m for _, m in runs}
    return {a: bd_table(runs, a, metric=METRIC) for a in anchors if a in present}


def bench_rows(runs: Mapping[tuple[str, str], SequenceResults], families: Seq[str],
               anchors: Seq[str] = (), bd_anchors: Seq[str] = BD_ANCHORS) -> list[Row]:
    """Rows per clip (in ``runs``' order) for ``families`` then ``anchors``, from results keyed by
    (clip, method)."""
    tables = _bd_tables(runs, bd_anchors)
    ratios = ratio_table(runs, bd_anchors, METRIC)
    rows = []
    for clip in dict.fromkeys(s for s, _ in runs):
        for method in [*families, *(a for a in anchors if a not in families)]:
            results = runs.get((clip, method))
            if results is None or not results.points:
                continue
            bd: dict[str, BDResult | None] = {}
            for a in bd_anchors:
                table = tables.get(a)
                bd[a] = None if a == method else (table.values[(method, clip)] if table is not None
                                                  else BDResult(None, f"{a} not run"))
            if method not in families:
                ratio = None
            elif ratios is None:
                ratio = RatioResult(None, reason=f"none of {' / '.join(bd_anchors)} run")
            else:
                ratio = ratios.values[(method, clip)]
            seconds, psnr = results.series("encode-s"), results.series(METRIC)
            rows.append(Row(clip, method, len(results.points), bd, ratio, sum(seconds) / len(seconds), max(seconds),
                            min(psnr), max(psnr)))
    return rows


def family_summaries(rows: Seq[Row], runs: Mapping[tuple[str, str], SequenceResults], families: Seq[str],
                     bd_anchors: Seq[str] = BD_ANCHORS) -> list[FamilySummary]:
    """Per family with rows: the clip of the highest bits ratio, the mean BD-rates over clips."""
    tables = _bd_tables(runs, bd_anchors)
    out = []
    for family in families:
        mine = [r for r in rows if r.method == family]
        if not mine:
            continue
        known = [r for r in mine if r.ratio is not None and r.ratio.value is not None]
        worst = max(known, key=lambda r: r.ratio.value) if known else None
        bd = {a: tables[a].average[family] if a in tables else BDResult(None, f"{a} not run") for a in bd_anchors}
        points = sum(r.points for r in mine)
        out.append(FamilySummary(
            family, worst.ratio if worst else RatioResult(None, reason="no clip has a ratio"),
            worst.clip if worst else "-", bd, sum(r.encode_mean * r.points for r in mine) / points,
            max(r.encode_max for r in mine), points,
        ))
    return out


def _columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _bd_text(result: BDResult | None) -> str:
    return "anchor" if result is None else result.text()


def _reasons(items: list[tuple[str, BDResult | RatioResult | None]]) -> list[str]:
    return [f"  n/a: {where}: {r.reason}" for where, r in items if r is not None and r.value is None and r.reason]


def format_rows(rows: Seq[Row], bd_anchors: Seq[str] = BD_ANCHORS) -> str:
    """The per-clip table (plain text), with the reasons of every n/a under it."""
    head = ("clip", "method", "points", *(f"BD vs {a}" for a in bd_anchors), "bits ratio", "enc s mean", "enc s max",
            "PSNR-RGB range")
    table = [head] + [(
        r.clip, r.method, str(r.points), *(_bd_text(r.bd.get(a)) for a in bd_anchors),
        "-" if r.ratio is None else r.ratio.text(), f"{r.encode_mean:.2f}", f"{r.encode_max:.2f}",
        f"{r.psnr_min:.2f}-{r.psnr_max:.2f}",
    ) for r in rows]
    notes = _reasons([(f"{r.method} on {r.clip} vs {a}", r.bd.get(a)) for r in rows for a in bd_anchors]
                     + [(f"{r.method} on {r.clip}, bits ratio", r.ratio) for r in rows])
    legend = (f"BD-rate on {METRIC} (akima, overlapping PSNR range); bits ratio: bpp at the family's best {METRIC} "
              f"over the bpp of the better of {' / '.join(bd_anchors)} there (~: extrapolated); encode seconds per "
              "point")
    return "\n".join([legend, _columns(table), *notes])


def format_summaries(summaries: Seq[FamilySummary], bd_anchors: Seq[str] = BD_ANCHORS) -> str:
    """One line per family: worst clip ratio, mean BD-rates, encode seconds per point."""
    lines = []
    for s in summaries:
        bd = ", ".join(f"vs {a} {s.bd[a].text()}" for a in bd_anchors)
        lines.append(f"{s.family}: worst clip ratio {s.worst.text()} on {s.worst_clip}; mean BD-rate {bd}; "
                     f"encode {s.encode_mean:.2f} s/point mean, {s.encode_max:.2f} max over {s.points} points")
    return "\n".join(lines)


def format_baseline(runs: Mapping[tuple[str, str], SequenceResults], families: Seq[str]) -> str:
    """Per clip and family: the ladder's BD-rate against the family at the baseline's fixed size
    (``<family>-base``), and the encode seconds per point of both."""
    lines = [f"the ladder against one size ({BASELINE_SUFFIX[1:]}: --baseline options, lambdas "
             f"{', '.join(f'{lm:g}' for lm in BASELINE_LAMBDAS)}): BD-rate on {METRIC}, encode s/point"]
    for family in families:
        base = family + BASELINE_SUFFIX
        if not any(m == base for _, m in runs):
            continue
        table = bd_table(runs, base, metric=METRIC)
        for clip in dict.fromkeys(c for c, m in runs if m == family):
            if (clip, base) not in runs:
                continue
            mean = [sum(runs[(clip, m)].series("encode-s")) / len(runs[(clip, m)].points) for m in (family, base)]
            lines.append(f"  {clip} {family}: {table.values[(family, clip)].text()} "
                         f"({mean[0]:.1f} s/point against {mean[1]:.1f})")
    return "\n".join(lines)


def format_between(runs: Mapping[tuple[str, str], SequenceResults], families: Seq[str]) -> str:
    """Per clip: the BD-rate of each family against each other family (row against column; n/a
    where their PSNR ranges do not overlap or a curve does not rise)."""
    present = [f for f in families if any(m == f for _, m in runs)]
    tables = {f: bd_table(runs, f, metric=METRIC) for f in present}
    lines = [f"families against each other: BD-rate on {METRIC} of the row family against the column family"]
    for clip in dict.fromkeys(c for c, _ in runs):
        rows = [(clip, *present)]
        for f in present:
            if (clip, f) not in runs:
                continue
            rows.append((f"  {f}", *("-" if g == f else tables[g].values[(f, clip)].text() for g in present)))
        if len(rows) > 2:
            lines.append(_columns(rows))
    return "\n".join(lines)


# -- the whole benchmark --------------------------------------------------------------------------


def main(config: BenchConfig, *, report_only: bool = False) -> int:
    """Run the missing points (unless ``report_only``), write the report and plots, print the tables."""
    families, anchors = bench_methods(config.families, config.anchors, threads=config.threads, steps=config.steps,
                                      device=config.device, jobs=config.jobs)
    bases = baseline_methods(families, config.baseline, threads=config.threads, device=config.device) \
        if config.baseline else []
    methods = [*families, *bases, *anchors]
    if report_only:
        names, ran = clip_names(config.clips), None
    else:
        use_threads(config.threads)
        sequences = prepare_clips(config.clips, config.out / "sources" / DATASET)
        for c, s in zip(config.clips, sequences, strict=True):
            print(f"{c.text}: {s.name} {s.width}x{s.height}, {s.num_frames} frames")
        try:
            outcome = run_points(config, sequences, methods)
        except KeyboardInterrupt:
            print(f"\ninterrupted: finished points are saved under {config.out / 'results'}; "
                  "run the same command to resume", file=sys.stderr)
            return 130
        names, ran = [s.name for s in sequences], f"{outcome.ran} / {outcome.reused}"
    report = write_report(config, names, methods, ran)
    fams, anchor_names = [m.name for m in families], [m.name for m in anchors]
    rows = bench_rows(report.runs, fams, anchor_names)
    if not rows:
        print(f"no results under {config.out / 'results' / DATASET}", file=sys.stderr)
        return 1
    tables = [format_rows(rows), format_summaries(family_summaries(rows, report.runs, fams))]
    if bases:
        tables.append(format_baseline(report.runs, fams))
    if len(fams) > 1:
        tables.append(format_between(report.runs, fams))
    for table in tables:
        print("\n" + table)
    print()
    with report.path.open("a") as f:  # the bench's own tables close the report, as printed
        f.write("\n## The bench's tables\n\nPer clip and family: BD-rate on PSNR-RGB against each anchor, the bits "
                "ratio at the family's best PSNR, encode seconds per point (mean, max), the PSNR range; then "
                "per family, and the families against each other.\n\n```\n" + "\n\n".join(tables) + "\n```\n")
    for path in report.plots:
        print(f"plot: {path}")
    print(f"report: {report.path}")
    return 0
