"""The Markdown report of a sweep: settings, BD-rate tables, RD plots, pictures of decoded frames
and every point, linking the JSONs.

:func:`build_report` reads the result files under ``out/results/<dataset>/`` (so it can be rebuilt
from finished files at any time), draws ``out/plots/<dataset>/*.png`` (``<sequence>_frames.png``:
the source and each method's decoded crop at about the same bpp, :mod:`eval.pictures`) and writes
``out/report.md``.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

from eval import ffmpeg
from eval.bdrate import BDTable, bd_table
from eval.pictures import frames_dir, frames_figure, pick_points, picture_frame
from eval.plots import Curve, rd_plot
from eval.ratio import ratio_table
from eval.published import UVG_PUBLISHED
from eval.results import SequenceResults, load
from eval.sweep import failed_path, result_path

__all__ = ["Report", "build_report", "summary_table"]

BD_METRICS = (("psnr-rgb", "akima"), ("psnr-yuv", "akima"), ("psnr-rgb", "pchip"))
#: The conventional anchors a method's bits ratio is taken against (the better of them per sequence).
RATIO_ANCHORS = ("x264-medium", "x265-medium")


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` wrote."""

    path: Path
    plots: tuple[Path, ...]
    bd_tables: tuple[BDTable, ...]
    runs: dict
    pictures: tuple[Path, ...] = ()


def _load_runs(out: Path, dataset: str, sequences: Seq[str], methods: Seq[str]) -> dict[tuple[str, str], SequenceResults]:
    runs = {}
    for s in sequences:
        for m in methods:
            path = result_path(out, dataset, s, m)
            if path.exists():
                results = load(path)
                if results.points:
                    runs[(s, m)] = results
    return runs


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _points_table(results: SequenceResults) -> list[str]:
    lines = [
        "| setting | bytes | bpp | PSNR-RGB | PSNR-YUV | MS-SSIM | enc s | dec s | dec fps | enc MiB | dec MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in results.points:
        lines.append(
            f"| {p.key} | {p.num_bytes} | {p.bpp:.4f} | {p.psnr_rgb:.2f} | {p.psnr_yuv:.2f} | {_fmt(p.ms_ssim, 4)} "
            f"| {p.encode_s:.2f} | {p.decode_s:.3f} | {p.decode_fps:.1f} | {p.encode_peak_mb:.0f} | {p.decode_peak_mb:.0f} |"
        )
    return lines


def _machine() -> str:
    try:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        torch_text = f"torch {torch.__version__}, {device}"
    except Exception:  # noqa: BLE001 - the report must not fail on an odd torch install
        torch_text = "torch unavailable"
    return f"{platform.machine()}, {os.cpu_count()} CPU threads, Python {platform.python_version()}, {torch_text}"


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def _average_series(out: Path, dataset: str, method: str) -> dict | None:
    path = out / "results" / dataset / f"{method}.json"
    return json.loads(path.read_text())["results"] if path.exists() else None


def build_report(
    out: Path,
    dataset: str,
    sequences: Seq[str],
    methods: Seq[str],
    *,
    anchor: str,
    settings: dict,
    kinds: dict[str, str] | None = None,
    command: str | None = None,
) -> Report:
    """Write ``out/report.md`` and the plots for the finished points of ``methods`` on ``sequences``."""
    out = Path(out)
    runs = _load_runs(out, dataset, sequences, methods)
    kinds = kinds or {}
    plot_dir = out / "plots" / dataset
    published = UVG_PUBLISHED if dataset == "uvg" else ()
    plots = []
    for s in sequences:
        curves = [Curve(m, kinds.get(m, ""), {k: runs[(s, m)].series(k) for k in ("bpp", "psnr-rgb", "psnr-yuv", "ms-ssim")})
                  for m in methods if (s, m) in runs]
        if curves:
            plots.append(rd_plot(plot_dir / f"{s}.png", f"{dataset}: {s}", curves))
    average = [Curve(m, kinds.get(m, ""), series) for m in methods if (series := _average_series(out, dataset, m))]
    if average:
        plots.append(rd_plot(plot_dir / "average.png", f"{dataset}: average over {len(sequences)} sequences",
                             average, published))
    pictures = _pictures(out, dataset, sequences, methods, runs, plot_dir)
    tables = []
    if any(m == anchor for _, m in runs) and len({m for _, m in runs}) > 1:
        tables = [bd_table(runs, anchor, metric=metric, interpolation=interp) for metric, interp in BD_METRICS]

    lines = [f"# inrv rate-distortion report: {dataset}", ""]
    if command:
        lines += ["Produced by:", "", "```", command, "```", ""]
    lines += ["## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in settings.items()]
    lines += [f"| ffmpeg | {ffmpeg.version()} (imageio-ffmpeg) |", f"| machine | {_machine()} |", ""]
    lines += [
        "Rate: bpp = bytes x 8 / (width x height x frames) at the evaluated size. inrv counts the whole `.inrv` file;",
        "anchors count their elementary stream (Annex-B / OBU, informational SEI removed). Quality: per-frame",
        "PSNR on 8-bit RGB after the same BT.601 conversion for every method, PSNR-YUV = (6Y+U+V)/8 per frame,",
        "MS-SSIM on RGB; all averaged over frames. Encode/decode seconds are wall time on this machine;",
        "peak memory is the resident peak of the encoding/decoding process (ffmpeg, or the Python process for inrv).",
        "",
        "## Sequences",
        "",
        "| sequence | size | frames | fps | source |",
        "|---|---|---|---|---|",
    ]
    seen = {s: r.sequence for (s, _), r in runs.items()}
    for s in sequences:
        info = seen.get(s, {})
        lines.append(f"| {s} | {info.get('width', '?')}x{info.get('height', '?')} | {info.get('frames', '?')} "
                     f"| {info.get('fps', '?')} | {Path(str(info.get('origin', '?'))).name} |")
    lines += ["", "## Methods", "", "| method | description | settings |", "|---|---|---|"]
    described = {m: (r.description, r.method) for (_, m), r in runs.items()}
    for m in methods:
        text, detail = described.get(m, ("no finished point", {}))
        shown = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                          for k, v in detail.items() if k != "ffmpeg" and v is not None)
        lines.append(f"| {m} | {text} | {shown} |")
    for table in tables:
        lines += ["", f"## BD-rate vs {table.anchor} ({table.metric}, {table.interpolation})", "",
                  "Negative: fewer bits than the anchor at equal quality.", "", table.to_markdown()]
    ratios = ratio_table(runs, RATIO_ANCHORS)
    if ratios is not None:
        lines += ["", f"## Bits ratio at the best PSNR-RGB vs the better of {' / '.join(ratios.anchors)}", "",
                  "A method's bpp at its highest-quality point over the anchor's bpp at that PSNR (log-rate "
                  "interpolated; `~`: extrapolated beyond the anchor's points), against whichever anchor needs "
                  "fewer bits there.", "", ratios.to_markdown()]
    if plots:
        lines += ["", "## Rate-distortion plots", ""]
        if published:
            lines += ["Published UVG curves (full 1080p, 600/300 frames; rates as the papers count them) are drawn "
                      "on the averaged plot, labelled \"(published)\"; see `eval/published.py` for sources.", ""]
        lines += [f"![{p.stem}]({_relative(p, out)})" for p in plots]
    if pictures:
        lines += ["", "## Decoded frames", "",
                  "Per sequence, the middle frame's most detailed square (the same window for every method) "
                  "from the source and from each method's point nearest one common bpp (the rate every method "
                  "comes closest to), pixels as decoded, bpp and PSNR-RGB of the whole point under each.", ""]
        lines += [f"![{p.stem}]({_relative(p, out)})" for p in pictures]
    lines += ["", "## Points", ""]
    for s in sequences:
        for m in methods:
            if (s, m) in runs:
                path = result_path(out, dataset, s, m)
                lines += [f"### {s} / {m} ([json]({_relative(path, out)}))", ""] + _points_table(runs[(s, m)]) + [""]
    failed = failed_path(out, dataset)
    if failed.exists():
        lines += ["## Failed points", "", "Points whose task failed after its retries (rerun the command to try them again):",
                  "", "| sequence | method | setting | error |", "|---|---|---|---|"]
        lines += [f"| {f['sequence']} | {f['method']} | {json.dumps(f['setting'])} | {f['error']} |"
                  for f in json.loads(failed.read_text())]
        lines.append("")
    avg_links = [f"[{m}]({_relative(out / 'results' / dataset / f'{m}.json', out)})"
                 for m in methods if (out / "results" / dataset / f"{m}.json").exists()]
    if avg_links:
        lines += ["Averaged curves: " + ", ".join(avg_links), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return Report(path, tuple(plots), tuple(tables), runs, tuple(pictures))


def _pictures(out: Path, dataset: str, sequences: Seq[str], methods: Seq[str], runs: dict,
              plot_dir: Path) -> list[Path]:
    """Per sequence with kept crops, the figure of :func:`eval.pictures.frames_figure`."""
    made = []
    for s in sequences:
        points = {m: [(p.key, p.bpp, p.psnr_rgb) for p in runs[(s, m)].points] for m in methods if (s, m) in runs}
        folder = frames_dir(out / "results" / dataset, s)
        target, picks = pick_points(points, folder)
        if picks:
            frames = next(r.sequence.get("frames") for (seq, _), r in runs.items() if seq == s)
            title = f"{dataset}: {s}, frame {picture_frame(int(frames))}, methods near {target:.4f} bpp"
            made.append(frames_figure(plot_dir / f"{s}_frames.png", title, folder, picks))
    return made


def summary_table(report: Report, methods: Seq[str], anchor: str) -> str:
    """A plain-text table for the terminal: per method, points, bpp and PSNR ranges, BD-rate."""
    table = report.bd_tables[0] if report.bd_tables else None
    rows = [("method", "points", "bpp range", "PSNR-RGB range", "mean enc s", f"BD-rate vs {anchor}")]
    for m in methods:
        pts = [p for (_, mm), r in report.runs.items() if mm == m for p in r.points]
        if not pts:
            rows.append((m, "0", "-", "-", "-", "-"))
            continue
        bd = "anchor" if m == anchor else (table.average[m].text() if table and m in table.average else "-")
        rows.append((
            m, str(len(pts)),
            f"{min(p.bpp for p in pts):.4f}-{max(p.bpp for p in pts):.4f}",
            f"{min(p.psnr_rgb for p in pts):.2f}-{max(p.psnr_rgb for p in pts):.2f}",
            f"{sum(p.encode_s for p in pts) / len(pts):.2f}", bd,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
