"""Probe a fitted family's training for the cause of a collapse: one real encode with the family's
learning rate multiplied, every optimizer step recorded (training PSNR and bpp, the learning rate,
the RGB head's pre-activation, the learned quantizer steps, Adam's second moments), and a table.

    python scripts/collapse_probe.py CLIP.y4m --family hnerv --quality 6 --lr-mult 4 --steps 400
    python scripts/collapse_probe.py CLIP.y4m --family hnerv --quality 6 --unguarded   # as before the guards
    python scripts/collapse_probe.py --report-only --results probe.jsonl

The logic is eval/collapse.py; --results appends each probe's rows as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import collapse  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", type=Path, help="a video file (.y4m, .mp4, ...)")
    ap.add_argument("--family", default="hnerv")
    ap.add_argument("--quality", type=int, default=6)
    ap.add_argument("--lr-mult", type=float, default=1.0, help="multiply the family's learning rate")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the level's)")
    ap.add_argument("--frames", type=int, default=None, help="encode the first FRAMES frames")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--unguarded", action="store_true",
                    help="fit without the divergence guards and keep the file whatever it holds (the old behaviour)")
    ap.add_argument("--every", type=int, default=50, help="a table row every N steps")
    ap.add_argument("--echo", type=int, default=0, help="print a row to stderr every N steps while it runs")
    ap.add_argument("--out", type=Path, default=None, help="keep the encoded file here")
    ap.add_argument("--results", type=Path, default=None, help="append the probe to this JSON-lines file")
    ap.add_argument("--report-only", action="store_true", help="reprint the probes of --results")
    args = ap.parse_args()
    if args.report_only:
        if args.results is None:
            ap.error("--report-only needs --results")
        for probe in collapse.load(args.results):
            print(collapse.table(probe, args.every), end="\n\n")
        return 0
    if args.clip is None:
        ap.error("give a clip")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "probe.inrv"
        result = collapse.probe(args.clip, out, family=args.family, quality=args.quality, lr_mult=args.lr_mult,
                                steps=args.steps, seed=args.seed, count=args.frames, echo=args.echo,
                                guarded=not args.unguarded)
    if args.results is not None:
        with args.results.open("a") as f:
            f.write(result.to_json() + "\n")
    print(collapse.table(result, args.every))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
