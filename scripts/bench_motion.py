"""The motion family's costs (docs/motion.md): a training step of each frame type against the
machine's matrix-multiply rate, and a stream's decoding (speed, multiply-adds per pixel, identical
twice, the sample differences between 1 and 2 threads along the intra period).

    python scripts/bench_motion.py --size 320x180                       # training steps, one thread
    python scripts/bench_motion.py --decode clip.inrv                   # a written stream's decoding

The logic is eval/motion_bench.py; nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from eval import motion_bench as mb  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="320x180", help="frame size of the step timings, WxH")
    ap.add_argument("--steps", type=int, default=20, help="steps timed per frame type")
    ap.add_argument("--decode", type=Path, default=None, help="a motion stream: decode figures instead of steps")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.decode is not None:
        print(mb.decode_table(mb.decode_figures(args.decode)))
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    rate = mb.matmul_rate()
    rows = [mb.step_figures(letter, networks, width, height, rate, args.steps)
            for letter in "IPB" for networks in (True, False)]
    print(f"one thread; 1024x1024 float32 matmul: {rate:.1f} GFLOP/s")
    print(mb.step_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
