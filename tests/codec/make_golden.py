"""Writes the golden stream of every registered family and the frames it decodes to:
``tests/codec/data/<family>_v1.inrv`` and ``<family>_v1_frames.npz``.

    python -m tests.codec.make_golden            # every family without a golden stream
    python -m tests.codec.make_golden --force    # rewrite them all (a new format version only)

The stream is a small real encode (4 frames of carphone cropped to 48x40, the family's quick
options, one thread). Encoding depends on the CPU's floating point, so the file is what pins the
format, not a re-encode; its frames are stored as decoded on the machine that wrote it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
FRAMES, CROP = 4, (slice(60, 100), slice(64, 112))  # 40 x 48 pixels


def golden_paths(family: str) -> tuple[Path, Path]:
    return DATA / f"{family}_v1.inrv", DATA / f"{family}_v1_frames.npz"


def write_golden(family: str) -> None:
    import codec
    from codec.config import EncodeConfig
    from codec.registry import get_family
    from codec.video import open_video, sample_clip, write_video

    stream, frames = golden_paths(family)
    with open_video(sample_clip("carphone")) as video:
        clip = np.ascontiguousarray(video.read(0, FRAMES)[:, CROP[0], CROP[1]])
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "golden.y4m"
        write_video(src, clip, fps=25)
        config = EncodeConfig(model=family, device="cpu", threads=1, progress=False,
                              options=dict(get_family(family).quick_options))
        codec.encode(src, stream, config)
    with codec.open(stream, device="cpu") as coded:
        np.savez_compressed(frames, frames=np.stack(list(coded.frames())))
    print(f"wrote {stream} ({stream.stat().st_size} bytes) and {frames}")


def main() -> None:
    from codec.registry import family_names

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="rewrite existing golden streams")
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    for family in family_names():
        if args.force or not golden_paths(family)[0].exists():
            write_golden(family)


if __name__ == "__main__":
    main()
