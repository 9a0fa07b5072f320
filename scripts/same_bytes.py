"""Encode carphone (first 8 and 24 frames) with every family and option set, one thread, fixed
seed, and print each file's SHA-256: the check that a change to the code leaves every stream the
same byte for byte.

    python scripts/same_bytes.py --json before.json          # on the old tree
    python scripts/same_bytes.py --compare before.json       # on the new one: exit 1 on a difference
    python scripts/same_bytes.py --compare before.json --only "grid|nerv-8"     # some cases (a regex on name-frames)

It drives the ``inrv`` command line (the interface both sides of a restructuring share).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: name -> inrv encode options (every case also gets one thread, seed 0 and the frame count).
CASES: dict[str, list[str]] = {
    "nerv": ["--model", "nerv", "--steps", "40"],
    "nerv-q7-xs": ["--model", "nerv", "--steps", "30", "--quality", "7", "--preset", "xs"],
    "nerv-ptq8": ["--model", "nerv", "--steps", "30", "--post-quant", "8"],
    "hnerv": ["--model", "hnerv", "--steps", "40"],
    "hnerv-lmbda-params": ["--model", "hnerv", "--steps", "30", "--lmbda", "1e-2", "--params", "30000"],
    "hnerv-ptq6": ["--model", "hnerv", "--steps", "30", "--post-quant", "6"],
    "nirvana": ["--model", "nirvana", "--steps", "40"],
    "nirvana-gop4-patch8": ["--model", "nirvana", "--steps", "30", "--gop", "4", "--patch", "8", "--quality", "2"],
    "nirvana-cuts": ["--model", "nirvana", "--steps", "30", "--gop", "6", "--scene-cut", "40"],
    "grid": ["--model", "grid", "--steps", "20"],
    "grid-checkerboard-gop4": ["--model", "grid", "--steps", "20", "--gop", "4", "--context", "checkerboard"],
    "teconerv": ["--model", "teconerv"],
    "teconerv-finetune-key": ["--model", "teconerv", "--finetune", "5", "--key-interval", "2", "--quality", "6"],
    "motion": ["--model", "motion", "--steps", "10", "--intra-period", "8"],
    "motion-ld-bilinear": ["--model", "motion", "--steps", "10", "--structure", "ld", "--intra-period", "6",
                           "--interp", "bilinear", "--flow", "farneback"],
}
FRAMES = (8, 24)


def run(src: Path, work: Path, only: str | None = None) -> dict[str, str]:
    hashes = {}
    for frames in FRAMES:
        for name, options in CASES.items():
            key = f"{name}-{frames}"
            if only is not None and not re.search(only, key):
                continue
            out = work / f"{key}.inrv"
            cmd = [sys.executable, "-m", "codec.cli", "encode", str(src), "-o", str(out), "--frames",
                   f"0:{frames}", "--threads", "1", "--seed", "0", "--quiet", *options]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            hashes[key] = hashlib.sha256(out.read_bytes()).hexdigest()
            print(f"{key:<28} {out.stat().st_size:>8} bytes  {hashes[key]}", flush=True)
    return hashes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="save the hashes here")
    ap.add_argument("--compare", type=Path, help="hashes saved earlier: report every difference")
    ap.add_argument("--only", metavar="REGEX", help="run only the cases whose name-frames matches (e.g. 'grid|nerv-8')")
    args = ap.parse_args()
    from codec.video import sample_clip

    with tempfile.TemporaryDirectory() as tmp:
        hashes = run(sample_clip("carphone"), Path(tmp), args.only)
    if not hashes:
        print(f"no case matches {args.only!r}")
        return 1
    if args.json:
        args.json.write_text(json.dumps(hashes, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        keys = hashes.keys() if args.only else before.keys() | hashes.keys()
        differ = sorted(k for k in keys if before.get(k) != hashes.get(k))
        print("identical" if not differ else f"{len(differ)} differ: {', '.join(differ)}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
