"""Audit the quality ladders: every level of every fitted family on a few clips, one CPU thread
per encode, and a table family x clip x level (bpp and PSNR of the file, the last and best
training PSNR, the guards' restarts) that marks with ``<`` a level under the level below it.

    python scripts/audit_ladder.py --results audit.jsonl                      # all: hours
    python scripts/audit_ladder.py --families hnerv --clips bikes --levels 1,2 --results audit.jsonl
    python scripts/audit_ladder.py --families hnerv --clips bikes --unguarded --results before.jsonl   # as before the guards
    python scripts/audit_ladder.py --results audit.jsonl --report-only

Clips are sample clips' names (carphone, bikes, bigbuckbunny) or video files, taken at --width
pixels wide and their first --frames frames. Points are appended to --results as they finish:
run the same command again to resume. The logic is eval/ladder_audit.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import ladder_audit as audit  # noqa: E402
from eval.rd_bench import parse_qualities  # noqa: E402


def names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=names, default=list(audit.FAMILIES), help="comma-separated")
    ap.add_argument("--clips", type=names, default=list(audit.CLIPS), help="sample names or files, comma-separated")
    ap.add_argument("--levels", type=parse_qualities, default="1..8", help="quality levels: 1..8 or 1,3,5")
    ap.add_argument("--width", type=int, default=audit.WIDTH)
    ap.add_argument("--frames", type=int, default=audit.FRAMES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results", type=Path, required=True, help="JSON-lines file the points are appended to")
    ap.add_argument("--cache", type=Path, default=Path(".cache/audit"), help="where the scaled clips are kept")
    ap.add_argument("--tolerance", type=float, default=0.0, help="dB a level may lie under the one below it")
    ap.add_argument("--unguarded", action="store_true",
                    help="encode as before the guards and the final check (nerv, hnerv): the audit's 'before'")
    ap.add_argument("--report-only", action="store_true", help="reprint the table of --results")
    args = ap.parse_args()
    if args.report_only:
        print(audit.table(audit.load(args.results), args.tolerance))
        return 0
    sequences = audit.prepare_clips(args.clips, args.cache, args.width, args.frames)

    def show(p: audit.AuditPoint) -> None:
        what = p.error if p.failed else f"{p.bpp:.4f} bpp {p.psnr:.2f} dB"
        print(f"{p.family} {p.clip} q{p.level}: {what} ({p.seconds:.0f} s)", flush=True)

    points = audit.run_audit(args.families, sequences, args.levels, args.results, args.cache / "work",
                             args.threads, on_point=show, guarded=not args.unguarded)
    print(audit.table(points, args.tolerance))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
