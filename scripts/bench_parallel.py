"""One encode on many cores (docs/parallel.md): ``--jobs 1`` against ``--jobs N``, one process with
N threads and Ray tasks on a local runtime (wall time, same bytes), then the wall time of a long
1080p sequence on 1, 8 and 64 workers projected from the measured per-frame costs.

    python scripts/bench_parallel.py --out docs/data/parallel                 # measure and project
    python scripts/bench_parallel.py --report-only docs/data/parallel         # reprint

The logic is eval/parallel_bench.py; nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import parallel_bench as pb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default="bigbuckbunny", help="a sample clip's name or a video file")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--quality", type=int, default=None, help="default: motion's default level")
    ap.add_argument("--jobs", type=int, default=2, help="N")
    ap.add_argument("--runs", default=",".join(pb.RUNS), help=f"which of: {', '.join(pb.RUNS)}")
    ap.add_argument("--target", default="1920x1080x600", help="the projected sequence, WxHxFRAMES")
    ap.add_argument("--overhead", type=float, default=1.0, help="seconds per task in the projection")
    ap.add_argument("--out", type=Path, default=Path("parallel-bench"))
    ap.add_argument("--work", type=Path, default=None, help="where the clip and the streams go (default: a "
                                                          "temporary folder)")
    ap.add_argument("--report-only", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()
    if args.report_only is not None:
        print(pb.report(*pb.load(args.report_only / "results.json")))
        return 0
    target = tuple(int(v) for v in args.target.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="inrv-parallel-") as tmp:
        print(pb.bench(args.clip, args.frames, args.width, args.quality, args.jobs, args.runs.split(","), args.out,
                       target, args.overhead, args.work or Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
