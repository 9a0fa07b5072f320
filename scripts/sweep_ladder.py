"""Measure a fitting family's quality ladder: encode the clips on a grid of network sizes
(--density, stored values per pixel), lambdas and training lengths (--lengths, in the family's
ladder unit: epochs for nerv and hnerv, the first group's steps for nirvana), one CPU thread per
encode, then print each clip's upper convex hull of PSNR-RGB against rate and a proposed ladder
(grid cells on every clip's hull, spread in rate), and draw the points and hulls.

    python scripts/sweep_ladder.py --family hnerv --clips carphone:32 \\
        --densities 0.01,0.02,0.04,0.08 --lambdas 3e-2,7e-3,1.7e-3,4e-4 --lengths 50,200 \\
        --results docs/data/ladder/hnerv.jsonl --plots docs/img
    python scripts/sweep_ladder.py --family hnerv --results docs/data/ladder/hnerv.jsonl --report-only

Points are appended to --results as they finish: run the same command again to resume. Rates are
file sizes, PSNR is measured on the decoded file. The logic is eval/ladder.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import ladder  # noqa: E402
from eval.datasets import clip_list  # noqa: E402


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, help="nerv, hnerv or nirvana")
    ap.add_argument("--clips", type=clip_list, default="carphone:32", help="CLIP:FRAMES, comma-separated")
    ap.add_argument("--densities", type=floats, default="0.01,0.02,0.04,0.08")
    ap.add_argument("--lambdas", type=floats, default="3e-2,7e-3,1.7e-3,4e-4")
    ap.add_argument("--lengths", type=floats, default="50",
                    help="training lengths in the family's ladder unit (epochs; nirvana: first-group steps), "
                         "comma-separated (a grid dimension: a ladder chooses them too)")
    ap.add_argument("--levels", type=int, default=8)
    ap.add_argument("--tolerance", type=float, default=0.3, help="dB below a clip's hull still counted on it")
    ap.add_argument("--results", required=True, help="JSON-lines file of the points (appended, resumed)")
    ap.add_argument("--plots", default=None, help="folder for the PNGs")
    ap.add_argument("--workdir", default="sweep-ladder")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--report-only", action="store_true", help="print and draw the saved points only")
    args = ap.parse_args()
    results = Path(args.results)
    if args.report_only:
        points = [p for p in ladder.load(results) if p.family == args.family]
    else:
        points = [p for p in ladder.sweep(args.family, args.clips, args.densities, args.lambdas, args.lengths,
                                          results, Path(args.workdir), args.device) if p.family == args.family]
    if not points:
        print(f"no {args.family} points in {results}", file=sys.stderr)
        return 1
    print("\n" + ladder.hull_table(points))
    print("\nproposed ladder:\n" + ladder.propose(points, args.levels, args.tolerance).table)
    if args.plots:
        for path in ladder.plot(points, Path(args.plots)):
            print(f"drew {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
