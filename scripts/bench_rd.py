"""Rate-distortion benchmark of the fitting families against conventional encoders (docs/quality.md).

Encodes each clip with every family (nerv, hnerv, nirvana) at its quality levels 1..8 (the family's
quality ladder, with the ladder's own training lengths) and with x264-medium, x265-medium and
SVT-AV1 (a CRF sweep each), one CPU thread per inrv encode, then prints per clip and family:
BD-rate on PSNR-RGB against x264-medium and against x265-medium, the bits ratio at the family's best
PSNR against the better of x264 / x265 there, encode seconds per point (mean and max) and the PSNR
range; then one summary line per family (its worst clip's ratio). The RD plots are drawn into
OUT/plots/rd/ and the full report into OUT/report.md. Every rate is a written file's size and every
quality is measured on the frames decoded from it; nothing is asserted.

The full run (hours to days on one thread per encode; the defaults are these values):

    python scripts/bench_rd.py --clips carphone:120,bikes:64,bigbuckbunny:64/2 \\
        --families nerv,hnerv,nirvana --qualities 1..8 --anchors x264-medium,x265-medium,svtav1 \\
        --threads 1 --device cpu --out runs/rd

Clips are NAME:FRAMES[/SCALE]: a sample clip (carphone, bikes, bigbuckbunny) or a video file, its
first FRAMES frames, both sides divided by SCALE (bigbuckbunny is 1280x720: /2 gives 640x360).
Results are saved after every point: run the same command again to continue where it stopped
(finished points are not redone). --report-only prints and draws from the saved results.

A smoke run (--steps overrides the ladder's training length; for smoke runs only):

    INRV_THREADS=1 python scripts/bench_rd.py --clips carphone:4 --families nerv --qualities 1,2 \\
        --anchors x264-medium --steps 20 --out /tmp/rdsmoke

The logic is in eval/rd_bench.py (over eval/sweep.py, eval/report.py, eval/bdrate.py, eval/ratio.py).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codec.errors import InrvError
from eval import rd_bench


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default=rd_bench.DEFAULT_CLIPS, help="NAME:FRAMES[/SCALE], comma-separated")
    ap.add_argument("--families", default=rd_bench.DEFAULT_FAMILIES, help="inrv families, comma-separated")
    ap.add_argument("--qualities", default="1..8", help="quality levels: 1..8 or 1,2,5")
    ap.add_argument("--anchors", default=rd_bench.DEFAULT_ANCHORS,
                    help="conventional encoders (eval/anchors.py names), comma-separated")
    ap.add_argument("--anchor-points", type=int, default=8, help="CRF points per anchor over its default range")
    ap.add_argument("--out", type=Path, required=True, help="output folder (results, plots, report); resumed")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per inrv encode (default 1)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="each inrv encode's jobs (inrv encode --jobs: motion's frames at once, --threads each; "
                         "the same files for any number)")
    ap.add_argument("--device", default="cpu", help="device of the inrv encodes (cpu, cuda, auto)")
    ap.add_argument("--steps", type=int, default=None,
                    help="training steps for every level: for smoke runs only; the full measurement uses "
                         "the ladder's lengths")
    ap.add_argument("--baseline", default=None, metavar="KEY:VALUE,...",
                    help="also run each family at these fixed options (e.g. preset:s,steps:1500: one network "
                         "size, as --quality was before the ladders) over the old lambdas, and print the "
                         "ladder's BD-rate against it")
    ap.add_argument("--overwrite", action="store_true",
                    help="redo the results of a clip and method made with other settings instead of refusing")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--report-only", action="store_true", help="run nothing: print and draw the saved results")
    args = ap.parse_args(argv)
    try:
        config = rd_bench.BenchConfig(
            clips=rd_bench.parse_clips(args.clips), out=args.out, families=args.families, anchors=args.anchors,
            qualities=rd_bench.parse_qualities(args.qualities), anchor_points=args.anchor_points,
            threads=args.threads, device=args.device, steps=args.steps, progress=not args.no_progress,
            overwrite=args.overwrite, baseline=args.baseline, jobs=args.jobs,
            command=" ".join(["python scripts/bench_rd.py", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]),
        )
        return rd_bench.main(config, report_only=args.report_only)
    except InrvError as exc:
        print(f"bench_rd: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
