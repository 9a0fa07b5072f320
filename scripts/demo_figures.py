"""The README's demo figures: run ``inrv demo`` once per thread count, keep the figures in
docs/data/demo.json and write them into the README (between its demo-figures markers).

    python scripts/demo_figures.py                  # one thread, then two (minutes each on 2 cores)
    python scripts/demo_figures.py --threads 1      # one thread only
    python scripts/demo_figures.py --readme-only    # rewrite the README from the saved file

tests/test_readme.py checks that the README says what the file holds. The logic is in eval/readme.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval import readme

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    p.add_argument("--json", type=Path, default=ROOT / readme.DEMO_JSON)
    p.add_argument("--readme", type=Path, default=ROOT / "README.md")
    p.add_argument("--readme-only", action="store_true", help="measure nothing: README from the saved file")
    args = p.parse_args()
    if args.readme_only:
        record = readme.load(args.json)
    else:
        record = readme.measure_demo(tuple(int(t) for t in args.threads.split(",")))
        readme.save(record, args.json)
    changed = readme.update_readme(args.readme, record)
    print(readme.sentence(record))
    print(f"{args.readme}: {'updated' if changed else 'unchanged'}; figures in {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
