"""Writes the expected result of every registered family's check encode (see
:mod:`tests.codec.rd_checks`): ``tests/codec/data/rd/<family>.json``.

    python -m tests.codec.make_rd_expected              # every family without a file
    python -m tests.codec.make_rd_expected grid nerv    # these families, rewriting their files
    python -m tests.codec.make_rd_expected --force      # every family, rewriting them all

Rewrite a family's file when a change is meant to move its rate or quality (say so in the
commit, with the old and new figures this prints); a file that moved without such a change is
what the regression test is there to catch. Run it on an otherwise idle machine: timing does not
matter, but it prints each family's floor margin and estimate ratio for the commit message.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from tests.codec.rd_checks import (
    CLIP_FRAMES,
    Expected,
    check_encode,
    check_options,
    crop_spec,
    decoded_frames,
    estimate_ratio,
    expected_path,
    floor_margin,
    load_expected,
    mean_frame_psnr,
    save_expected,
    write_check_clip,
)


def write_expected(family: str, src: Path, reference, tmp: Path) -> Expected:
    result = check_encode(family, src, tmp / f"{family}.inrv")
    margin = floor_margin(reference, decoded_frames(result.path))
    expected = Expected(family=family, options=check_options(family), frames=list(CLIP_FRAMES), crop=crop_spec(),
                        bpp=result.bpp, psnr_rgb=result.psnr_rgb, estimated_bpp=result.estimated_bpp,
                        file_bytes=result.file_bytes, mean_frame_psnr=mean_frame_psnr(reference),
                        floor_margin_db=margin, torch=torch.__version__)
    before = load_expected(family) if expected_path(family).is_file() else None
    save_expected(expected)
    print(f"{family:10s} {result.bpp:.4f} bpp {result.psnr_rgb:.3f} dB  floor margin {margin:+.2f} dB  "
          f"estimate/file {estimate_ratio(result):.3f}  {result.encode_seconds:.1f} s"
          + ("" if before is None else f"  (was {before.bpp:.4f} bpp {before.psnr_rgb:.3f} dB)"))
    return expected


def main() -> None:
    from codec.registry import family_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", help="families to (re)write (default: those without a file)")
    parser.add_argument("--force", action="store_true", help="rewrite every family's file")
    args = parser.parse_args()
    names = args.families or [f for f in family_names() if args.force or not expected_path(f).exists()]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "check.y4m"
        reference = write_check_clip(src)
        for family in names:
            write_expected(family, src, reference, Path(tmp))


if __name__ == "__main__":
    main()
