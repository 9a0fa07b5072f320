"""The NIRVANA benchmark behind ``scripts/bench_nirvana.py``: NIRVANA against NeRV / HNeRV on
sample clips or video files (RD sweeps and BD-rates, encode time at matched PSNR and its
key-group bound, per-group bits and steps, a static clip) and peak memory against video length.

Every rate is a written file's size and every quality is measured on frames decoded from it
(:mod:`eval.codec_bench`); nothing here is asserted. ``args`` is the script's parsed options.
The memory section encodes in a fresh process per length: ``python -m eval.nirvana_bench Y4M STEPS``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import codec
from codec.config import EncodeConfig
from codec.video import VideoWriter, open_video, sample_clip, write_video
from eval import codec_bench as cb
from eval.codec_bench import merge_speed_sweeps
from eval.datasets import folder_sources, prepare
from eval.plots import Curve, TimeCurve, rd_plot, time_plot

#: Model sizes of the default time-vs-PSNR sweeps: a larger size may reach a high PSNR first
#: (carphone: nerv m and nirvana l from 27.9 dB up), so each family is timed at its fastest.
DEFAULT_SPEED_PRESETS = {"nerv": "s,m", "nirvana": "s,m,l"}
#: The goal set for nerv / nirvana encode time at matched PSNR (the paper: 12x on UVG, GPUs):
#: the speed plots draw a line at this many times nirvana's time at its fastest size.
SPEED_GOAL = 5.0


def family_values(items: list[str], defaults: dict[str, str]) -> dict[str, str]:
    out = dict(defaults)
    for item in items:
        name, _, value = item.partition("=")
        out[name] = value
    return out


def family_presets(args) -> dict[str, str]:
    return family_values(args.preset, {"nirvana": args.nirvana_preset} if args.nirvana_preset else {})


def base_config(args, family: str, count: int, steps: int, preset: str | None = None):
    extra = dict(gop=args.gop, patch=args.patch) if family == "nirvana" else {}
    return EncodeConfig.of(model=family, count=count, steps=steps, device=args.device, progress=False,
                           preset=preset or family_presets(args).get(family), **extra)


def group_table(path: Path) -> str:
    with codec.open(path, device="cpu") as coded:
        return coded.describe_chunks(values=True)


def prepare_clip(args, clip: str, count: int, work: Path) -> tuple[str, Path, int]:
    """A short name, the file to encode and its frame count: the first ``count`` frames of ``clip``
    (a sample clip's name or a video file; all of them if it has fewer), shrunk by ``--scale``
    (converted once into ``work`` when needed)."""
    source = folder_sources(files=[clip])[0]
    seq = prepare(source, frames=count, scale=args.scale, cache_dir=work / "sources")
    return seq.name, Path(seq.path), seq.num_frames


def run_clip(args, clip: str, count: int, work: Path, report: dict) -> None:
    name, src, count = prepare_clip(args, clip, count, work)
    (work / name).mkdir(exist_ok=True)
    families = args.families.split(",")
    steps = family_values(args.steps, {"nirvana": "600", "nerv": "1500", "hnerv": "1500"})
    speed_steps = family_values(args.speed_steps, {"nerv": "300,700,1500,3000", "nirvana": "150,300,600,1200"})
    key = f"{clip}:{count}"
    clip_report: dict = report.setdefault(key, {})
    size = "" if args.scale == 1 else f", shrunk by {args.scale:g}"
    print(f"\n===== {name}, {count} frames{size} =====", flush=True)
    if not args.skip_rd:
        shared = [x for x in args.lambdas if "=" not in x] or ["3e-2,1.5e-2,7e-3,3.5e-3"]
        per_family = family_values([x for x in args.lambdas if "=" in x], {f: shared[-1] for f in families})
        curves = {}
        for fam in families:
            lambdas = [float(x) for x in per_family[fam].split(",")]
            base = base_config(args, fam, count, int(steps[fam]))
            curves[fam] = cb.rd_sweep(src, work / name, base, lambdas)
            print(f"\n-- RD sweep {fam} ({base.options.steps} steps) --\n{cb.rd_table(curves[fam])}", flush=True)
            clip_report[f"rd {fam}"] = [asdict(p) for p in curves[fam]]
            if fam == "nirvana":
                for i, lm in enumerate(lambdas):
                    table = group_table(work / name / f"nirvana_{i}.inrv")
                    print(f"\nnirvana per group, lambda={lm:g}:\n{table}")
                    clip_report.setdefault("nirvana groups", {})[f"{lm:g}"] = table
        for anchor in ("nerv", "hnerv"):
            if "nirvana" in curves and anchor in curves:
                text = cb.bd_rate_text(curves[anchor], curves["nirvana"])
                print(f"BD-rate nirvana vs {anchor} (PSNR-RGB): {text}")
                clip_report[f"bd-rate nirvana vs {anchor}"] = text
        if args.plots:
            print(f"plot: {draw_rd(args.plots, key, curves)}")
    if not args.skip_speed:
        fixed = family_presets(args)
        sizes = family_values(args.speed_presets, {f: fixed.get(f, DEFAULT_SPEED_PRESETS[f]) for f in families
                                                   if f in DEFAULT_SPEED_PRESETS})
        curves: dict[str, dict[str, list]] = {}
        for fam in (f for f in ("nerv", "nirvana") if f in families):
            curves[fam] = {}
            for preset in sizes[fam].split(","):
                sweep = curves[fam][preset] = []
                for n in (int(x) for x in speed_steps[fam].split(",")):
                    base = base_config(args, fam, count, n, preset)
                    cfg = replace(base, options=replace(base.options, lmbda=args.speed_lambda))
                    out = work / name / f"speed_{fam}_{preset}_{n}.inrv"
                    sweep.append(cb.encode_point(src, out, cfg, f"{preset} steps={n}"))
                print(f"\n-- time vs PSNR, {fam} preset {preset}, lambda={args.speed_lambda:g} --\n"
                      f"{cb.rd_table(sweep)}", flush=True)
                clip_report[f"speed {fam} {preset}"] = [asdict(p) for p in sweep]
        if len(curves) == 2:
            print_speed_tables(curves["nerv"], curves["nirvana"], count, clip_report)
            if args.plots:
                print(f"plot: {draw_speed(args.plots, key, curves['nerv'], curves['nirvana'])}")


def print_speed_tables(nerv: dict, nirvana: dict, frames: int, clip_report: dict) -> None:
    """The encode-time ratio at matched PSNR and its key-group bound, printed and kept in the report."""
    lines = cb.matched_psnr_table(nerv, nirvana, frames)
    print("\nencode time at matched PSNR (nerv / nirvana):\n" + "\n".join(lines))
    clip_report["matched-psnr time"] = lines
    bound = cb.key_group_bound_table(nerv, nirvana)
    print("\nthe key groups alone (each nirvana point):\n" + "\n".join(bound))
    clip_report["key-group bound"] = bound


def plot_stem(key: str) -> str:
    """A file name stem for a report's clip key ``NAME:FRAMES`` (NAME a sample clip or a path)."""
    name, _, frames = key.rpartition(":")
    return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{Path(name).stem}_{frames}")


def draw_rd(plot_dir: Path, key: str, curves: dict[str, list[cb.RDPoint]]) -> Path:
    """The RD sweeps of one clip (PSNR-RGB, PSNR-YUV and MS-SSIM against the files' bpp)."""
    series = [Curve(fam, "inrv", {"bpp": [p.bpp for p in pts], "psnr-rgb": [p.psnr_rgb for p in pts],
                                  "psnr-yuv": [p.psnr_yuv for p in pts], "ms-ssim": [p.ms_ssim for p in pts]})
              for fam, pts in curves.items()]
    return rd_plot(plot_dir / f"{plot_stem(key)}_rd.png", f"{key}: rate-distortion", series)


def draw_speed(plot_dir: Path, key: str, nerv: dict[str, list[cb.RDPoint]],
               nirvana: dict[str, list[cb.RDPoint]]) -> Path:
    """Each time-vs-PSNR sweep of one clip, and the goal: nirvana's time at its fastest size (as
    the matched-PSNR table takes it) times SPEED_GOAL. Where nerv lies left of that line, nerv
    needs less than SPEED_GOAL times nirvana's time."""
    curves = [TimeCurve(f"{fam} {size}".strip(), tuple(p.encode_s for p in pts), tuple(p.psnr_rgb for p in pts))
              for fam, sweeps in (("nerv", nerv), ("nirvana", nirvana)) for size, pts in sweeps.items()]
    # at the PSNRs of nirvana's time-PSNR front (no point of any size higher in less time): below a
    # sweep's first point its time is unknown, and a level there would draw a vertical step
    front, best = [], float("-inf")
    for p in sorted((p for pts in nirvana.values() for p in pts), key=lambda q: q.encode_s):
        if p.psnr_rgb > best:
            front.append(p.psnr_rgb)
            best = p.psnr_rgb
    fastest = [(reach[0], psnr) for psnr in front if (reach := cb.cheapest_to_reach(nirvana, psnr))]
    goal = TimeCurve(f"nirvana's fastest x {SPEED_GOAL:g} (the issue's goal)",
                     tuple(SPEED_GOAL * t for t, _ in fastest), tuple(psnr for _, psnr in fastest))
    return time_plot(plot_dir / f"{plot_stem(key)}_speed.png", f"{key}: encode time to reach a PSNR", curves, [goal])


def print_saved_tables(paths: list[Path], plot_dir: Path | None = None) -> None:
    """``--tables``: the speed tables of saved reports, merged per clip and model size (and their
    speed plots into ``plot_dir``). Raises ValueError (one line) for a file that is not such a
    report, or reports with no table to print."""
    reports = []
    for path in paths:
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a JSON report ({exc})") from None
    clips = merge_speed_sweeps(reports)
    if not clips:
        raise ValueError("no clip has time-vs-PSNR sweeps of both nerv and nirvana in these reports")
    for sweeps in clips:
        sizes = ", ".join(f"{fam} {size} ({len(pts)} point{'s' * (len(pts) != 1)})" for fam, by_size in
                          (("nerv", sweeps.nerv), ("nirvana", sweeps.nirvana)) for size, pts in by_size.items())
        print(f"\n===== {sweeps.clip}: {sizes} =====")
        print_speed_tables(sweeps.nerv, sweeps.nirvana, sweeps.frames, {})
        if plot_dir:
            print(f"plot: {draw_speed(plot_dir, sweeps.clip, sweeps.nerv, sweeps.nirvana)}")


def write_saved_report(paths: list[Path], plot_dir: Path | None, command: str) -> Path:
    """:func:`print_saved_tables`, printed and written as ``report.md`` in the first file's folder
    (:mod:`eval.benchreport`); returns its path."""
    import contextlib
    import io

    from eval.benchreport import Section, write_report

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        print_saved_tables(paths, plot_dir)
    print(text.getvalue())
    tables = "\n".join(line for line in text.getvalue().splitlines() if not line.startswith("plot: "))
    note = ("Each file's args hold the bench options that made it. Encode time to reach a PSNR, nerv against "
            "nirvana, each family at its fastest model size at each PSNR (lambda 3.5e-3, one CPU thread), and "
            "the key-group bound of the ratio.")
    return write_report(paths[0].parent / "report.md", "nirvana against nerv: encode time at matched PSNR",
                        command, [Section("Saved runs: " + ", ".join(p.name for p in paths), tables, note)])


def run_static(args, work: Path, report: dict, frames: int = 64) -> None:
    """The first carphone frame repeated: every group after the first should cost next to nothing."""
    with open_video(sample_clip("carphone")) as video:
        first = video.read(0, 1)
    src = work / "static.y4m"
    write_video(src, np.repeat(first, frames, axis=0), fps=25)
    out = work / "static.inrv"
    result = codec.encode(src, out, base_config(args, "nirvana", frames, int(family_values(args.steps, {"nirvana": "400"})["nirvana"])))
    with codec.open(out, device="cpu") as coded:
        sizes = [c.total for c in coded.chunks]
    table = group_table(out)
    print(f"\n===== static clip: carphone frame 0 x {frames} =====\n{table}")
    print(f"file {result.file_bytes} bytes, {result.bpp:.5f} bpp, PSNR {result.psnr_rgb:.2f} dB; "
          f"later groups / first group: max {max(sizes[1:]) / sizes[0]:.4f}")
    report["static"] = {"table": table, "sizes": sizes, "psnr": result.psnr_rgb}


def write_synthetic(path: Path, frames: int, width: int = 640, height: int = 360) -> None:
    """A moving pattern (gradient, a drifting square, slow global change), written 10 frames at a
    time so the parent never holds the clip."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with VideoWriter(path, width=width, height=height, fps=25) as writer:
        for first in range(0, frames, 10):
            chunk = []
            for t in range(first, min(frames, first + 10)):
                img = np.stack([xx / width * 200 + 20 * np.sin(t / 15), yy / height * 200,
                                128 + 60 * np.sin((xx + 2 * t) / 40) * np.cos(yy / 30)], axis=-1)
                x0, y0 = (5 * t) % (width - 80), (3 * t) % (height - 80)
                img[y0 : y0 + 80, x0 : x0 + 80] = (230, 40, 40)
                chunk.append(np.clip(img, 0, 255).astype(np.uint8))
            writer.write(np.stack(chunk))


def peak_rss_kib() -> int:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not carry a parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(y4m: str, steps: int) -> None:
    """Encode ``y4m`` with nirvana and print a JSON line with RSS figures (KiB)."""
    import torch  # noqa: F401  (most of the RSS, before any encoding)

    import codec

    baseline = peak_rss_kib()
    out = Path(y4m).with_suffix(".inrv")
    result = codec.encode(y4m, out, EncodeConfig.of(model="nirvana", steps=steps, device="cpu", progress=False))
    peak = peak_rss_kib()
    print(json.dumps({"frames": result.num_frames, "peak_kib": peak, "before_kib": baseline,
                      "bpp": result.bpp, "psnr": result.psnr_rgb, "encode_s": result.encode_seconds}))


def run_memory(args, work: Path, report: dict) -> None:
    rows = []
    for n in (int(x) for x in args.memory_frames.split(",")):
        path = work / f"synthetic_{n}.y4m"
        write_synthetic(path, n)
        cmd = [sys.executable, "-m", __name__, str(path), str(args.memory_steps)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        path.unlink()
    print(f"\n===== peak memory, nirvana, synthetic 640x360, {args.memory_steps} steps =====")
    print("(before: peak RSS after importing torch; growth: what encoding added, the training modules' "
          "imports included)")
    print(f"{'frames':>6} {'peak MiB':>9} {'before MiB':>11} {'growth MiB':>11} {'encode s':>9} {'PSNR':>6}")
    for r in rows:
        print(f"{r['frames']:>6} {r['peak_kib'] / 1024:>9.1f} {r['before_kib'] / 1024:>11.1f} "
              f"{(r['peak_kib'] - r['before_kib']) / 1024:>11.1f} {r['encode_s']:>9.1f} {r['psnr']:>6.2f}")
    ratio = rows[-1]["peak_kib"] / rows[0]["peak_kib"]
    growth = (rows[-1]["peak_kib"] - rows[-1]["before_kib"]) / max(1, rows[0]["peak_kib"] - rows[0]["before_kib"])
    print(f"peak RSS {rows[-1]['frames']} / {rows[0]['frames']} frames: {ratio:.3f} "
          f"({'within' if abs(ratio - 1) <= 0.2 else 'NOT within'} 20%); growth ratio {growth:.3f}")
    report["memory"] = {"rows": rows, "ratio": ratio, "growth_ratio": growth}


def run(args) -> dict:
    """Every section ``args`` asks for, printed as it goes; returns the report (``--json``)."""
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for clip, count in args.clips:
            run_clip(args, clip, count, work, report)
        if not args.skip_static:
            run_static(args, work, report)
        if not args.skip_memory:
            run_memory(args, work, report)
    return report


if __name__ == "__main__":  # a memory child (run_memory)
    memory_child(sys.argv[1], int(sys.argv[2]))
