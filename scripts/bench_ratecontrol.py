"""Rate control, targets asked against what the file hit (docs/quality.md): each clip and family encoded
with every --targets entry (``bpp=B`` is --target-bpp B, ``psnr=D`` is --target-psnr D), one CPU
thread per encode; prints asked, hit, the miss (relative for bpp, dB for PSNR), the level chosen,
the probe fits and the seconds (probes, and probes plus the full fit).

    python scripts/bench_ratecontrol.py --clips carphone:32,bikes:16,bigbuckbunny:16/2 --families nerv \\
        --targets bpp=0.05,bpp=0.1,psnr=28,psnr=31 --results docs/data/ratecontrol/results.jsonl
    python scripts/bench_ratecontrol.py --results docs/data/ratecontrol/results.jsonl --report-only

Points are appended to --results as they finish: run the same command again to resume. The table
is also written as report.md in the folder of --results (docs/data/ratecontrol/report.md for the
saved run). The logic is eval/ratecontrol_bench.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import ratecontrol_bench as rb  # noqa: E402
from eval.benchreport import command_line  # noqa: E402
from eval.rd_bench import parse_clips  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=parse_clips, default="carphone:32", help="NAME:FRAMES[/SCALE], comma-separated")
    ap.add_argument("--families", default="nerv", help="comma-separated: nerv, hnerv, nirvana")
    ap.add_argument("--targets", type=rb.parse_targets, default="bpp=0.1,psnr=30")
    ap.add_argument("--results", required=True, type=Path, help="JSON-lines file (appended, resumed)")
    ap.add_argument("--workdir", type=Path, default=Path("bench-ratecontrol"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    if args.report_only:
        points = rb.load(args.results)
    else:
        points = rb.run(list(args.clips), args.families.split(","), args.targets, args.results, args.workdir)
    print("\n" + rb.table(points))
    command = command_line("bench_ratecontrol.py", ["--results", str(args.results), "--report-only"])
    print(f"report: {rb.write_report(args.results.parent / 'report.md', points, command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
