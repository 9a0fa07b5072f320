"""Fuzz ``.inrv`` decoding: structure-aware mutants of real streams of every family, each case in a
worker process with a time and a memory limit, and a table of outcomes (eval/fuzz.py).

    python scripts/fuzz.py --minutes 10                  # as many cases as fit, every family
    python scripts/fuzz.py --cases 5000 --keep failures/ # 5,000 per family; failing cases kept

Exit status 1 when any case ended in a traceback, a hang, a crash or over the memory limit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.fuzz import FAILURES, FuzzConfig, run


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
    args = ap.parse_args()
    if args.minutes is None and args.cases == 100_000:
        ap.error("give --cases N or --minutes M")
    cfg = FuzzConfig(per_family=args.cases, minutes=args.minutes, workers=args.workers, time_limit=args.time_limit,
                     memory_mib=args.memory_mib, seed=args.seed, keep=args.keep,
                     families=tuple(args.families.split(",")) if args.families else None)
    summary = run(cfg)
    print(summary.table())
    for case, out in summary.failures[:20]:
        print(f"{case.family} {case.mutator}: {out.outcome}: {out.message}")
    return 1 if any(c[o] for c in summary.counts.values() for o in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
