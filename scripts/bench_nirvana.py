"""NIRVANA against NeRV / HNeRV: RD sweeps, BD-rates, encode time at matched PSNR, decode speed,
bits and steps per group, and peak memory against video length.

    python scripts/bench_nirvana.py                          # the full run (hours on 2 CPU cores)
    python scripts/bench_nirvana.py --clips carphone:120 --lambdas 1.5e-2,3.5e-3 \\
        --speed-steps nerv=300,1500 --speed-steps nirvana=100,400 --skip-memory   # a reduced run
    python scripts/bench_nirvana.py --clips bikes:250,clip.mp4:120 --scale 2 --skip-rd \\
        --skip-memory --skip-static --preset nerv=m     # any clips (files or sample names), shrunk
    python scripts/bench_nirvana.py --tables a.json b.json --plots plots/   # saved runs merged, drawn
    python scripts/bench_nirvana.py --tables docs/data/nirvana/*.json --plots docs/img   # the saved report

Every rate is a written file's size and every quality is measured on frames decoded from it
(eval/nirvana_bench.py, eval/codec_bench.py). "Encode time at matched PSNR": each family is encoded at one lambda with
several step counts; the time a family needs to reach a PSNR is interpolated along its
(PSNR, seconds) points, and the ratio nerv / nirvana is printed at the PSNRs both reach. Each
model size of ``--speed-presets`` (default nerv s and m, nirvana s, m and l) is swept, and at each
PSNR a family is timed by its fastest size there (the table names it). A second table bounds
the ratio at each nirvana point by its key groups alone (nerv's seconds over the training seconds
of the first group and of the first group after each scene cut): what it would be if every later
group cost nothing. ``--plots DIR`` draws each clip's RD curves and its time-vs-PSNR sweeps (log
seconds, so the gap between two curves is their speed ratio; nirvana's drawn again at 5x its time).
Memory: a synthetic 640x360 clip of N frames is encoded in a fresh process per N; its peak RSS
(and the growth over the RSS before encoding) is compared between lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

def clip_list(text: str) -> list[tuple[str, int]]:
    """``CLIP:FRAMES,...`` (argparse type): :func:`eval.datasets.clip_list`, imported when called
    (this script sets the thread count before anything imports torch)."""
    from eval.datasets import clip_list as parse

    return parse(text)


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
    ap.add_argument("--plots", type=Path, metavar="DIR",
                    help="also draw each clip's RD curves and time-vs-PSNR sweeps (PNG) into DIR")
    ap.add_argument("--tables", type=Path, nargs="+", metavar="JSON",
                    help="run nothing: print the matched-PSNR and key-group tables of saved --json "
                         "reports, their sweeps merged per clip and model size (runs made side by side), "
                         "and write them as report.md in the first file's folder")
    return ap.parse_args()


def saved_command() -> str:
    """The --tables command as a report names it (the saved files' paths as given)."""
    from eval.benchreport import command_line

    return command_line("bench_nirvana.py")


def main() -> None:
    args = parse_args()
    if args.threads:  # codec.encode reads INRV_THREADS; OMP_NUM_THREADS covers the memory children
        os.environ["OMP_NUM_THREADS"] = os.environ["INRV_THREADS"] = str(args.threads)
    import torch

    from eval import nirvana_bench as bench

    if args.tables:
        try:
            print(f"report: {bench.write_saved_report(args.tables, args.plots, saved_command())}")
        except ValueError as exc:
            sys.exit(f"bench_nirvana: {exc}")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    report = bench.run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    from codec.errors import InrvError

    try:
        main()
    except InrvError as exc:
        sys.exit(f"bench_nirvana: {exc}")
