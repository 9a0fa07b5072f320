"""Peak resident memory and time of decoding one frame, per family, at 720p, 1080p, 2160p and 4320p
(docs/data/decode-memory/report.md, linked from docs/robustness.md).

    python scripts/bench_decode_memory.py --results docs/data/decode-memory/results.jsonl
    python scripts/bench_decode_memory.py --code before --code-dir /path/to/older/tree --results ...
    python scripts/bench_decode_memory.py --repro --code before --code-dir /path/to/older/tree --results ...
    python scripts/bench_decode_memory.py --results docs/data/decode-memory/results.jsonl --report-only

Streams (made once in --streams and reused, so that two trees decode the same files): a short real
encode of each family on carphone, re-headed to each size (grid's latents resampled and coded
again, teconerv's tubelets repeated; nerv and hnerv made for the size with random codes: their
networks' shapes follow the frame size). Each stream's frame 0 is decoded in a fresh process with
one torch thread, importing codec from --code-dir (default: this tree), killed past --limit-mb or
--timeout. Rows are appended to --results (JSON lines, labelled --code) and report.md is written
beside it; --report-only measures nothing and rewrites the report. Run the 4320p rows one at a time
on a shared machine (this script runs one worker at a time). --repro measures the reproducer that
decodes (H4b of tests/codec/data/repro) instead: frame 0, then every frame. --every-frame decodes
every frame of each sized stream (8 frames: motion's I, P and B frames) instead of frame 0. The
logic is in eval/decode_memory.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from eval import decode_memory as dm
from eval.benchreport import command_line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", help="comma-separated (default: every registered family)")
    ap.add_argument("--sizes", default=",".join(s for s, _, _ in dm.SIZES), help="of " + ", ".join(
        s for s, _, _ in dm.SIZES))
    ap.add_argument("--streams", type=Path, default=Path(tempfile.gettempdir()) / "inrv-decode-memory",
                    help="where the streams are made and kept")
    ap.add_argument("--code", default="after", help="the label of the decoder measured (a column of the report)")
    ap.add_argument("--code-dir", type=Path, help="the tree whose codec the workers import (default: this one)")
    ap.add_argument("--limit-mb", type=float, default=6000, help="kill a worker past this resident memory")
    ap.add_argument("--timeout", type=float, default=900, help="kill a worker after this many seconds")
    ap.add_argument("--results", type=Path, help="append the rows to this JSON-lines file; report.md beside it")
    ap.add_argument("--report-only", action="store_true", help="measure nothing: rewrite --results' report")
    ap.add_argument("--every-frame", action="store_true", help="decode every frame of each sized stream, not "
                                                                "frame 0 only (motion: its I, P and B frames)")
    ap.add_argument("--repro", action="store_true", help="measure the reproducer that decodes (H4b): frame 0 and "
                                                         "every frame, instead of the sizes")
    args = ap.parse_args()
    if args.report_only:
        if args.results is None:
            ap.error("--report-only needs --results")
        rows = dm.load(args.results)
    elif args.repro:
        rows = []
        for name, family, path in dm.REPRO:
            for frames in ("0", "all"):
                row = dm.measure(args.code, family, name, path, args.code_dir, args.limit_mb, args.timeout, frames)
                print(dm.repro_table([row]).splitlines()[-1], flush=True)
                rows.append(row)
                if args.results:
                    dm.save(args.results, [row])
        if args.results:
            rows = dm.load(args.results)
    else:
        from codec.registry import family_names

        families = args.families.split(",") if args.families else family_names()
        sizes = [s for s in dm.SIZES if s[0] in args.sizes.split(",")]
        streams = dm.make_streams(args.streams, families, sizes)
        rows = []
        for family in families:
            for name, _, _ in sizes:
                row = dm.measure(args.code, family, name, streams[family, name], args.code_dir, args.limit_mb,
                                 args.timeout, "all" if args.every_frame else "0")
                if args.every_frame:  # its line says how a decode without a figure ended
                    print(dm.every_frame_table([row]).splitlines()[-1], flush=True)
                else:
                    print(dm.table([row]).splitlines()[-1], row.message, flush=True)
                rows.append(row)
                if args.results:
                    dm.save(args.results, [row])
        if args.results:
            rows = dm.load(args.results)
    if dm.sized(rows):
        print(dm.table(dm.sized(rows)))
        print()
        print(dm.per_pixel_table(dm.sized(rows)))
    if dm.sized(rows, "all"):
        print(dm.every_frame_table(dm.sized(rows, "all")))
    if any(r.size in {n for n, _, _ in dm.REPRO} for r in rows):
        print(dm.repro_table(rows))
    if args.results:
        command = command_line("bench_decode_memory.py", ["--results", str(args.results), "--report-only"])
        print(f"report: {dm.write_report(args.results.parent / 'report.md', rows, command)}")


if __name__ == "__main__":
    main()
