"""The grid family's own measurements (docs/grid.md): decoder cost, training speed against hnerv, and the
context schemes (checkerboard against causal).

    python scripts/bench_grid.py                       # all three, about 15 minutes on one thread
    python scripts/bench_grid.py --skip-speed --skip-schemes

* Decoder cost: multiply-adds per pixel of grid's default config on each clip, counted from the
  network shapes (synthesis, trilinear upsampling at 8 per level, context networks per latent).
* Speed (--speed-clip, default bikes:64): seconds per training step of grid (one group, its default
  crop) and of hnerv (the whole clip, batch 2, --hnerv-preset), one thread each, from the difference
  of two encodes' times (--steps SHORT,LONG), and the pixels each step trains.
* Schemes (--scheme-clip, default carphone:16): grid encoded with each context scheme at one lambda
  and step count; bytes of the file and of its latents, PSNR, and decode fps of the written file.

Rows are appended to --results (JSON lines) when given, and every row saved there is written as
report.md in its folder; --report-only measures nothing and rewrites that report (the saved one:
--results docs/data/grid/results.jsonl --report-only). The RD bench is scripts/bench_rd.py
--families grid. The logic is in eval/grid_bench.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from eval import grid_bench as gb
from eval.benchreport import command_line
from eval.datasets import parse_clips
from eval.rd_bench import use_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cost-clips", default="carphone:120,bikes:64,bigbuckbunny:64/2")
    ap.add_argument("--speed-clip", default="bikes:64")
    ap.add_argument("--steps", default="10,40", help="SHORT,LONG training steps of the speed encodes")
    ap.add_argument("--hnerv-preset", default="s")
    ap.add_argument("--scheme-clip", default="carphone:16")
    ap.add_argument("--scheme-lmbda", type=float, default=2e-3)
    ap.add_argument("--scheme-steps", type=int, default=300)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-schemes", action="store_true")
    ap.add_argument("--results", type=Path, help="append the rows to this JSON-lines file; report.md is written "
                                                 "beside it")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: print the rows saved in --results and write its report.md")
    args = ap.parse_args()
    if args.report_only:
        if args.results is None:
            ap.error("--report-only needs --results")
        rows = gb.load(args.results)
        tables = (table(rows) for table in (gb.cost_table, gb.speed_table, gb.scheme_table))
        print("\n\n".join(text for text in tables if "\n" in text))  # the kinds of row saved
    else:
        rows = measure(args)
    if args.results:
        if not args.report_only:
            gb.save(args.results, rows)
            rows = gb.load(args.results)
        command = command_line("bench_grid.py", ["--results", str(args.results), "--report-only"])
        print(f"report: {gb.write_report(args.results.parent / 'report.md', rows, command)}")


def measure(args: argparse.Namespace) -> list:
    """Run the measurements the options ask for, printing each table as it completes."""
    use_threads(1)
    rows: list = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("decoder multiply-adds per pixel (grid defaults)")
        for spec, _, geometry in gb.sources(list(parse_clips(args.cost_clips)), work):
            rows.append(gb.decoder_cost(spec.text, geometry, {}))
        print(gb.cost_table(rows))
        if not args.skip_speed:
            short, long = (int(x) for x in args.steps.split(","))
            [(spec, path, geometry)] = gb.sources(list(parse_clips(args.speed_clip)), work)
            print(f"\ntraining speed on {spec.text}, one thread")
            for family, frames, options in (("grid", 8, {}), ("hnerv", geometry.num_frames,
                                                               {"preset": args.hnerv_preset})):
                rows.append(gb.step_rate(spec.text, path, family, min(frames, geometry.num_frames), options, short,
                                         long, work))
            print(gb.speed_table(rows))
        if not args.skip_schemes:
            [(spec, path, geometry)] = gb.sources(list(parse_clips(args.scheme_clip)), work)
            print(f"\ncontext schemes on {spec.text}, lambda {args.scheme_lmbda:g}, {args.scheme_steps} steps, "
                  "one thread")
            for scheme in ("checkerboard", "causal"):
                rows.append(gb.scheme_point(spec.text, path, scheme, geometry.num_frames, args.scheme_lmbda,
                                            args.scheme_steps, work))
            print(gb.scheme_table(rows))
    return rows

if __name__ == "__main__":
    main()
