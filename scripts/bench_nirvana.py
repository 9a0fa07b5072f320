"""NIRVANA against NeRV / HNeRV: RD sweeps, BD-rates, encode time at matched PSNR, decode speed,
bits and steps per group, and peak memory against video length.

    python scripts/bench_nirvana.py                          # the full run (hours on 2 CPU cores)
    python scripts/bench_nirvana.py --clips carphone:120 --lambdas 1.5e-2,3.5e-3 \\
        --speed-steps nerv=300,1500 --speed-steps nirvana=100,400 --skip-memory   # a reduced run
    python scripts/bench_nirvana.py --clips bikes:250,clip.mp4:120 --scale 2 --skip-rd \\
        --skip-memory --skip-static --preset nerv=m     # any clips (files or sample names), shrunk
    python scripts/bench_nirvana.py --tables a.json b.json    # the speed tables of saved runs, merged

Every rate is a written file's size and every quality is measured on frames decoded from it
(eval/codec_bench.py). "Encode time at matched PSNR": each family is encoded at one lambda with
several step counts; the time a family needs to reach a PSNR is interpolated along its
(PSNR, seconds) points, and the ratio nerv / nirvana is printed at the PSNRs both reach. Each
model size of ``--speed-presets`` (default nerv s and m, nirvana s, m and l) is swept, and at each
PSNR a family is timed by its fastest size there (the table names it). A second table bounds
the ratio at each nirvana point by its key groups alone (nerv's seconds over the training seconds
of the first group and of the first group after each scene cut): what it would be if every later
group cost nothing.
Memory: a synthetic 640x360 clip of N frames is encoded in a fresh process per N; its peak RSS
(and the growth over the RSS before encoding) is compared between lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np


#: Model sizes of the default time-vs-PSNR sweeps: a larger size may reach a high PSNR first
#: (carphone: nerv m and nirvana l from 27.9 dB up), so each family is timed at its fastest.
DEFAULT_SPEED_PRESETS = {"nerv": "s,m", "nirvana": "s,m,l"}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=clip_list, default="carphone:120,bikes:64",
                    help="clips as CLIP:FRAMES, CLIP a sample clip's name or a video file (FRAMES: its first N)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink every clip by this factor first (ffmpeg area)")
    ap.add_argument("--families", default="nirvana,nerv,hnerv")
    ap.add_argument("--lambdas", action="append", default=[], metavar="[FAMILY=]L,L,...",
                    help="lambdas of the RD sweeps, for every family or one (default 3e-2,1.5e-2,7e-3,3.5e-3)")
    ap.add_argument("--steps", action="append", default=[], metavar="FAMILY=N",
                    help="training steps of the RD sweeps (nirvana: of its first group); "
                         "default nirvana=600, nerv=1500, hnerv=1500")
    ap.add_argument("--speed-steps", action="append", default=[], metavar="FAMILY=N,N,...",
                    help="step counts of the time-vs-PSNR sweep; default nerv=300,700,1500,3000 "
                         "and nirvana=150,300,600,1200")
    ap.add_argument("--speed-presets", action="append", default=[], metavar="FAMILY=NAME,NAME,...",
                    help="model sizes of the time-vs-PSNR sweep, one sweep each; at each PSNR a family "
                         "is timed by its fastest size (default nerv=s,m and nirvana=s,m,l; a family "
                         "given --preset sweeps that size only)")
    ap.add_argument("--speed-lambda", type=float, default=3.5e-3)
    ap.add_argument("--gop", type=int)
    ap.add_argument("--patch", type=int)
    ap.add_argument("--preset", action="append", default=[], metavar="FAMILY=NAME",
                    help="model size preset of a family (default: each family's own, s)")
    ap.add_argument("--nirvana-preset", help="the same as --preset nirvana=NAME")
    ap.add_argument("--skip-rd", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-static", action="store_true")
    ap.add_argument("--memory-frames", default="60,300")
    ap.add_argument("--memory-steps", type=int, default=20)
    ap.add_argument("--threads", type=int, help="torch threads (default: every core)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, help="also write every number here")
    ap.add_argument("--tables", type=Path, nargs="+", metavar="JSON",
                    help="run nothing: print the matched-PSNR and key-group tables of saved --json "
                         "reports, their sweeps merged per clip and model size (runs made side by side)")
    ap.add_argument("--memory-child", nargs=2, metavar=("Y4M", "STEPS"), help=argparse.SUPPRESS)
    return ap.parse_args()


def clip_list(text: str) -> list[tuple[str, int]]:
    """``CLIP:FRAMES,...`` -> [(clip, frames)] (argparse type)."""
    out = []
    for item in text.split(","):
        clip, _, count = item.rpartition(":")
        if not clip or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{item!r}: expected CLIP:FRAMES, e.g. carphone:120")
        out.append((clip, int(count)))
    return out


def family_values(items: list[str], defaults: dict[str, str]) -> dict[str, str]:
    out = dict(defaults)
    for item in items:
        name, _, value = item.partition("=")
        out[name] = value
    return out


def family_presets(args) -> dict[str, str]:
    return family_values(args.preset, {"nirvana": args.nirvana_preset} if args.nirvana_preset else {})


def base_config(args, family: str, count: int, steps: int, preset: str | None = None):
    from codec.config import EncodeConfig

    extra = dict(gop=args.gop, patch=args.patch) if family == "nirvana" else {}
    return EncodeConfig(model=family, count=count, steps=steps, device=args.device, progress=False,
                        preset=preset or family_presets(args).get(family), **extra)


def group_table(path: Path) -> str:
    import codec

    with codec.open(path, device="cpu") as coded:
        return coded.family.describe_chunks(coded._stream)


def prepare_clip(args, clip: str, count: int, work: Path) -> tuple[str, Path, int]:
    """A short name, the file to encode and its frame count: the first ``count`` frames of ``clip``
    (a sample clip's name or a video file; all of them if it has fewer), shrunk by ``--scale``
    (converted once into ``work`` when needed)."""
    from eval.datasets import folder_sources, prepare

    source = folder_sources(files=[clip])[0]
    seq = prepare(source, frames=count, scale=args.scale, cache_dir=work / "sources")
    return seq.name, Path(seq.path), seq.num_frames


def run_clip(args, clip: str, count: int, work: Path, report: dict) -> None:
    from eval import codec_bench as cb

    name, src, count = prepare_clip(args, clip, count, work)
    (work / name).mkdir(exist_ok=True)
    families = args.families.split(",")
    steps = family_values(args.steps, {"nirvana": "600", "nerv": "1500", "hnerv": "1500"})
    speed_steps = family_values(args.speed_steps, {"nerv": "300,700,1500,3000", "nirvana": "150,300,600,1200"})
    clip_report: dict = report.setdefault(f"{clip}:{count}", {})
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
            print(f"\n-- RD sweep {fam} ({base.steps} steps) --\n{cb.rd_table(curves[fam])}", flush=True)
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
                    cfg = replace(base_config(args, fam, count, n, preset), lmbda=args.speed_lambda)
                    out = work / name / f"speed_{fam}_{preset}_{n}.inrv"
                    sweep.append(cb.encode_point(src, out, cfg, f"{preset} steps={n}"))
                print(f"\n-- time vs PSNR, {fam} preset {preset}, lambda={args.speed_lambda:g} --\n"
                      f"{cb.rd_table(sweep)}", flush=True)
                clip_report[f"speed {fam} {preset}"] = [asdict(p) for p in sweep]
        if len(curves) == 2:
            print_speed_tables(curves["nerv"], curves["nirvana"], count, clip_report)


def print_speed_tables(nerv: dict, nirvana: dict, frames: int, clip_report: dict) -> None:
    """The encode-time ratio at matched PSNR and its key-group bound, printed and kept in the report."""
    from eval import codec_bench as cb

    lines = cb.matched_psnr_table(nerv, nirvana, frames)
    print("\nencode time at matched PSNR (nerv / nirvana):\n" + "\n".join(lines))
    clip_report["matched-psnr time"] = lines
    bound = cb.key_group_bound_table(nerv, nirvana)
    print("\nthe key groups alone (each nirvana point):\n" + "\n".join(bound))
    clip_report["key-group bound"] = bound


def print_saved_tables(paths: list[Path]) -> None:
    """``--tables``: the speed tables of saved reports, merged per clip and model size."""
    from eval.codec_bench import merge_speed_sweeps

    reports = []
    for path in paths:
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            sys.exit(f"bench_nirvana: {path}: cannot read a JSON report ({exc})")
    try:
        clips = merge_speed_sweeps(reports)
    except ValueError as exc:
        sys.exit(f"bench_nirvana: {exc}")
    if not clips:
        sys.exit("bench_nirvana: no clip has time-vs-PSNR sweeps of both nerv and nirvana in these reports")
    for sweeps in clips:
        sizes = ", ".join(f"{fam} {size} ({len(pts)} point{'s' * (len(pts) != 1)})" for fam, by_size in
                          (("nerv", sweeps.nerv), ("nirvana", sweeps.nirvana)) for size, pts in by_size.items())
        print(f"\n===== {sweeps.clip}: {sizes} =====")
        print_speed_tables(sweeps.nerv, sweeps.nirvana, sweeps.frames, {})


def run_static(args, work: Path, report: dict, frames: int = 64) -> None:
    """The first carphone frame repeated: every group after the first should cost next to nothing."""
    import codec
    from codec.video import open_video, sample_clip, write_video

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
    from codec.video import VideoWriter

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
    import codec
    import codec.models  # noqa: F401  (torch, compressai: most of the RSS, before any encoding)
    from codec.config import EncodeConfig

    baseline = peak_rss_kib()
    out = Path(y4m).with_suffix(".inrv")
    result = codec.encode(y4m, out, EncodeConfig(model="nirvana", steps=steps, device="cpu", progress=False))
    peak = peak_rss_kib()
    print(json.dumps({"frames": result.num_frames, "peak_kib": peak, "before_kib": baseline,
                      "bpp": result.bpp, "psnr": result.psnr_rgb, "encode_s": result.encode_seconds}))


def run_memory(args, work: Path, report: dict) -> None:
    rows = []
    for n in (int(x) for x in args.memory_frames.split(",")):
        path = work / f"synthetic_{n}.y4m"
        write_synthetic(path, n)
        cmd = [sys.executable, __file__, "--memory-child", str(path), str(args.memory_steps)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        path.unlink()
    print(f"\n===== peak memory, nirvana, synthetic 640x360, {args.memory_steps} steps =====")
    print("(before: peak RSS after importing torch and the codec; growth: what encoding added)")
    print(f"{'frames':>6} {'peak MiB':>9} {'before MiB':>11} {'growth MiB':>11} {'encode s':>9} {'PSNR':>6}")
    for r in rows:
        print(f"{r['frames']:>6} {r['peak_kib'] / 1024:>9.1f} {r['before_kib'] / 1024:>11.1f} "
              f"{(r['peak_kib'] - r['before_kib']) / 1024:>11.1f} {r['encode_s']:>9.1f} {r['psnr']:>6.2f}")
    ratio = rows[-1]["peak_kib"] / rows[0]["peak_kib"]
    growth = (rows[-1]["peak_kib"] - rows[-1]["before_kib"]) / max(1, rows[0]["peak_kib"] - rows[0]["before_kib"])
    print(f"peak RSS {rows[-1]['frames']} / {rows[0]['frames']} frames: {ratio:.3f} "
          f"({'within' if abs(ratio - 1) <= 0.2 else 'NOT within'} 20%); growth ratio {growth:.3f}")
    report["memory"] = {"rows": rows, "ratio": ratio, "growth_ratio": growth}


def main() -> None:
    args = parse_args()
    if args.tables:
        print_saved_tables(args.tables)
        return
    if args.threads:  # codec.encode reads INRV_THREADS; OMP_NUM_THREADS covers the memory children
        os.environ["OMP_NUM_THREADS"] = os.environ["INRV_THREADS"] = str(args.threads)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for clip, count in args.clips:
            run_clip(args, clip, count, work, report)
        if not args.skip_static:
            run_static(args, work, report)
        if not args.skip_memory:
            run_memory(args, work, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    from codec.errors import InrvError

    try:
        main()
    except InrvError as exc:
        sys.exit(f"bench_nirvana: {exc}")
