"""Fuzz ``.inrv`` decoding: structure-aware mutants of real streams of every registered family (large
re-headed geometries included), each case in a worker process with a time and a memory limit, and a
table of outcomes (eval/fuzz.py).

    python scripts/fuzz.py --minutes 10                  # as many cases as fit, every family
    python scripts/fuzz.py --cases 5000 --keep failures/ # 5,000 per family; failing cases kept
    python scripts/fuzz.py --cases 2000 --workers 1 --results docs/data/fuzz/results.json
    python scripts/fuzz.py --results docs/data/fuzz/results.json --report-only

With --results the summary is saved there and report.md is written beside it (the report
docs/robustness.md links); --report-only runs nothing and rewrites that report from the saved run.
Exit status 1 when any case ended in a traceback, a hang, a crash or over the memory limit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eval.benchreport import command_line
from eval.fuzz import FAILURES, FuzzConfig, RunInfo, load, run, save, write_report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000, help="cases per family (default: until --minutes)")
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long")
    ap.add_argument("--families", default=None, help="comma-separated families (default: every one)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per case (default 60)")
    ap.add_argument("--memory-mib", type=float, default=1024.0, help="resident memory per case (default 1024)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="write failing cases here")
    ap.add_argument("--results", type=Path, default=None, help="save the summary here (JSON), report.md beside it")
    ap.add_argument("--report-only", action="store_true", help="run nothing: rewrite the report of --results")
    args = ap.parse_args()
    if args.report_only:
        if args.results is None:
            ap.error("--report-only needs --results")
        summary, info = load(args.results)
    else:
        if args.minutes is None and args.cases == 100_000:
            ap.error("give --cases N or --minutes M")
        cfg = FuzzConfig(per_family=args.cases, minutes=args.minutes, workers=args.workers,
                         time_limit=args.time_limit, memory_mib=args.memory_mib, seed=args.seed, keep=args.keep,
                         families=tuple(args.families.split(",")) if args.families else None)
        start = time.monotonic()
        summary = run(cfg)
        info = RunInfo(per_family=args.cases, workers=args.workers, seed=args.seed, time_limit=args.time_limit,
                       memory_mib=args.memory_mib, seconds=time.monotonic() - start)
        if args.results:
            save(args.results, summary, info)
    print(summary.table())
    print(summary.mutator_table())
    for case, out in summary.failures[:20]:
        print(f"{case.family} {case.mutator}: {out.outcome}: {out.message}")
    if args.results:
        command = command_line("fuzz.py", ["--results", str(args.results), "--report-only"])
        print(f"report: {write_report(args.results.parent / 'report.md', summary, info, command)}")
    return 1 if any(c[o] for c in summary.counts.values() for o in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
