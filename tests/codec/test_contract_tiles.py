"""The memory side of the contract every registered family meets (issue 36): decoding memory is a
fixed budget plus the frames the output needs, at any frame size.

* A frame larger than a strip (:mod:`codec.tools.tiles`) decodes in strips to exactly the frames
  of a whole-frame decode, whatever the strips' heights (some not dividing the frame's).
* (slow) One frame of a 2160p stream decodes in under 1 GB, the whole process.

Each family's stream is its quick encode of carphone (176x144, 4 frames), one thread; a frame of
that size renders whole with the default budget, so the test shrinks the strips. A family whose
frames come from independent pieces (nirvana's patches, teconerv's tubelets) renders them in
batches of a fixed size and gives the same frames with any budget. docs/robustness.md and
scripts/bench_decode_memory.py give the memory at 720p..4320p.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import codec
from codec.config import EncodeConfig
from codec.registry import family_names, get_family
from codec.tools import tiles
from codec.video import write_video

FAMILIES = family_names()
FRAMES = 4


@pytest.fixture(scope="module", params=FAMILIES)
def stream(request, carphone_frames, tmp_path_factory) -> Path:
    family = request.param
    folder = tmp_path_factory.mktemp(family)
    clip = folder / "carphone.y4m"
    write_video(clip, carphone_frames[:FRAMES], fps=30)
    out = folder / f"{family}.inrv"
    codec.encode(clip, out, EncodeConfig(model=family, device="cpu", threads=1, progress=False,
                                         options=dict(get_family(family).quick_options)))
    return out


def decode(path: Path, start: int = 0, stop: int = FRAMES) -> np.ndarray:
    with codec.open(path, device="cpu") as coded:
        return np.stack(list(coded.frames(start, stop)))


@pytest.mark.parametrize("pixels", [176 * 28, 176 * 5])
def test_strips_decode_the_whole_frames_bit_for_bit(stream, pixels):
    torch.set_num_threads(1)
    with tiles.strip_pixels(None):
        whole = decode(stream)
    assert whole.shape == (FRAMES, 144, 176, 3)
    with tiles.strip_pixels(pixels):
        assert len(tiles.plan(144, 176)) > 1
        assert np.array_equal(decode(stream), whole)
        assert np.array_equal(decode(stream, 1, 3), whole[1:3])


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_a_2160p_frame_decodes_in_under_a_gigabyte(family, tmp_path):
    """The whole process, interpreter and torch included (about 510 MB of it), decoding frame 0 of
    the family's stream re-headed to 3840x2160 (eval.decode_memory: a family without a re-heading
    there fails here until it has one) in a fresh process with one thread."""
    from eval.decode_memory import make_streams, measure

    size = ("2160p", 3840, 2160)
    path = make_streams(tmp_path, [family], [size])[family, size[0]]
    row = measure("test", family, size[0], path, None, limit_mb=4000, timeout=900)
    assert row.outcome == "ok" and row.peak_mb < 1000, row
