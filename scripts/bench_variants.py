"""What each option of a family is worth, alone and together: every variant encodes one clip at
the same lambdas with the same encode time (--time-budget, one CPU thread) or the same --steps,
then each variant's BD-rate against the first. Rates are file sizes, PSNR is measured on the
decoded file.

    python scripts/bench_variants.py --family hnerv --clip carphone:32 --time-budget 60 \\
        --variants "plain=;sft=sft;sin=sin-block;nervpp=nervpp;fft=loss:l1-ssim-fft;all=sft,sin-block,nervpp,loss:l1-ssim-fft"

A variant is NAME=OPTIONS, OPTIONS comma-separated: a switch (sft) or KEY:VALUE (loss:l1-ssim-fft,
preset:m). With --json the run is saved there, and report.md in that file's folder is rewritten
from every saved run there; --report-only FOLDER encodes nothing and rewrites it (the saved runs:
--report-only docs/data/variants). The logic is eval/variants.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.benchreport import command_line  # noqa: E402
from eval.datasets import parse_clips  # noqa: E402
from eval.variants import parse_variants, run, write_report  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="hnerv")
    ap.add_argument("--clip", type=lambda t: (lambda c: (c.name, c.frames, c.scale))(parse_clips(t)[0]), default="carphone:32",
                    help="CLIP:FRAMES[/SCALE]")
    ap.add_argument("--variants", type=parse_variants,
                    default="plain=;sft=sft;sin=sin-block;nervpp=nervpp;fft=loss:l1-ssim-fft;"
                            "all=sft,sin-block,nervpp,loss:l1-ssim-fft")
    ap.add_argument("--lambdas", type=lambda t: [float(v) for v in t.split(",")], default="1.5e-2,3.5e-3,8e-4")
    limit = ap.add_mutually_exclusive_group()
    limit.add_argument("--time-budget", type=float, default=None, help="seconds of training per encode")
    limit.add_argument("--steps", type=int, default=None)
    limit.add_argument("--ladder-length", action="store_true",
                       help="train as long as the family's ladder says for each lambda's level (no common limit)")
    ap.add_argument("--preset", default=None, help="network size of every variant (default: the family's)")
    ap.add_argument("--base", type=lambda t: parse_variants("base=" + t)[0][1], default={},
                    help="options of every variant, as a variant's (intra-period:8,structure:ra)")
    ap.add_argument("--workdir", default="bench-variants")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None, help="also write the report here (and report.md beside it)")
    ap.add_argument("--report-only", type=Path, metavar="FOLDER",
                    help="encode nothing: write FOLDER/report.md from the saved runs (*.json) there")
    args = ap.parse_args()
    if args.report_only:
        command = command_line("bench_variants.py", ["--report-only", str(args.report_only)])
        print(write_report(args.report_only, command).read_text())
        return 0
    if args.time_budget is None and args.steps is None and not args.ladder_length:
        args.time_budget = 60.0
    base = {**args.base, **({"preset": args.preset} if args.preset else {})}
    report = run(args.family, args.clip, args.variants, args.lambdas, Path(args.workdir), args.time_budget,
                 args.steps, args.device, base)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        folder = Path(args.json).parent
        print(f"report: {write_report(folder, command_line('bench_variants.py', ['--report-only', str(folder)]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
