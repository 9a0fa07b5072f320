"""``motion``'s decoder renders frames in strips (issue 36): each strip's rows are the rows of the
whole-frame render (:func:`codec.families.motion.net.compose`, what the encoder decodes its frames
with), bit for bit, for intra, P and B frames, strips of heights that do not divide the frame, odd
sizes and motion that reaches across strips or out of the frame; and the references are sampled
from their 8-bit rows (:class:`codec.tools.framesampler.FrameSampler`) as ``grid_sample`` samples
the whole float frame. The contract suite checks the decoder on a real stream in strips
(tests/codec/test_contract_tiles.py); tests/codec/test_motion.py that it gives the encoder's
frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import codec.tools.framesampler as framesampler
from codec.families.motion.config import MotionConfig
from codec.families.motion.net import PARTS, compose, part_net, part_output, part_shape, to_uint8
from codec.families.motion.render import PartRows, frame_rows, render_frame
from codec.tools import tiles
from codec.tools.framesampler import FrameSampler, from_uint8

CPU = torch.device("cpu")


def config(interp: int = 1) -> MotionConfig:
    return MotionConfig(structure=0, intra_period=8, interp=interp, levels=5, hidden=12, residual_hidden=8, layers=2,
                        refine=1, motion_levels=3, motion_hidden=8, motion_scale=2, ctx_hidden=8, ctx_layers=2)


def parts_of(cfg: MotionConfig, letter: str, height: int, width: int, reach: float, seed: int):
    """Random synthesis weights and integer latents for a frame's parts (the motion output layer
    scaled by ``reach``: vectors of about ``4 * reach`` pixels), as whole outputs and as
    :class:`PartRows`."""
    torch.manual_seed(seed)
    whole, rows = {}, {}
    for role in PARTS[letter]:
        part = part_shape(cfg, role)
        net = part_net(part).eval()
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(3.0)
            if part.scale:
                net.rgb.weight.mul_(reach)
        levels = [torch.randint(-3, 4, shape, dtype=torch.int8) for shape in part.shapes(height, width)]
        with torch.no_grad():
            whole[role] = part_output(net, levels, part, height, width)
        rows[role] = PartRows.of(net, levels, part, height, width)
    return whole, rows


def references(letter: str, height: int, width: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range({"I": 0, "P": 1, "B": 2}[letter])]


def both(cfg: MotionConfig, letter: str, height: int, width: int, pixels: int | None, reach: float = 1.0,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The whole-frame render and the strip render (``pixels`` a strip) of one random frame."""
    whole, rows = parts_of(cfg, letter, height, width, reach, seed)
    refs = references(letter, height, width, seed)
    with torch.no_grad():
        want = to_uint8(compose(whole, [from_uint8(r, CPU) for r in refs], cfg, height, width))
    with torch.inference_mode(), tiles.strip_pixels(pixels):
        got = render_frame(rows, [FrameSampler(r, CPU) for r in refs], cfg, height, width)
    return want, got


@pytest.mark.parametrize("letter", ["I", "P", "B"])
@pytest.mark.parametrize("height, width", [(144, 176), (67, 131), (97, 83)])
def test_strips_give_the_whole_frame_bit_for_bit(letter, height, width):
    torch.set_num_threads(1)
    for rows in (5, 7, 28, None):  # strips of 5, 7 (not dividing any of the heights) and 28 rows; whole
        want, got = both(config(), letter, height, width, None if rows is None else rows * width, reach=4.0)
        assert got.shape == (height, width, 3)
        assert np.array_equal(got, want), (letter, height, width, rows, int((got != want).sum()))
        assert len(np.unique(want)) > 32  # not a flat frame


@pytest.mark.parametrize("letter", ["P", "B"])
def test_a_strips_float_rows_are_the_whole_frames(letter):
    """Before rounding to 8 bits too: every strip's values (the prediction, a B frame's blending
    weight through every value's vectorized sigmoid, the residual) are the whole frame's rows, on a
    frame whose size is no multiple of a vector (8777 values a channel)."""
    torch.set_num_threads(1)
    cfg, height, width = config(), 67, 131
    whole, rows = parts_of(cfg, letter, height, width, 4.0, 11)
    refs = references(letter, height, width, 11)
    with torch.inference_mode():
        want = compose(whole, [from_uint8(r, CPU) for r in refs], cfg, height, width)
        samplers = [FrameSampler(r, CPU) for r in refs]
        for lo, hi in tiles.plan(height, width, pixels=width * 9):
            got = frame_rows(rows, samplers, cfg, tiles.Rows(lo, hi, height), width)
            assert torch.equal(got, want[:, :, lo:hi]), (lo, hi)


def test_bilinear_warping_and_motion_beyond_the_frame_in_strips():
    """Vectors of hundreds of pixels (out of the frame: its edge repeated) and the bilinear filter."""
    torch.set_num_threads(1)
    for letter in ("P", "B"):
        for interp, reach in ((0, 1.0), (1, 60.0)):
            want, got = both(config(interp), letter, 67, 131, 131 * 6, reach=reach, seed=3)
            assert np.array_equal(got, want), (letter, interp, reach)


def test_a_small_window_samples_far_reaching_points_in_groups(monkeypatch):
    """With a window of 12 rows, a strip whose vectors reach all over the reference is sampled in
    groups of nearby rows: the same frame."""
    torch.set_num_threads(1)
    monkeypatch.setattr(framesampler, "WINDOW_VALUES", 3 * 131 * 12)
    calls = []
    sample = FrameSampler._sample
    monkeypatch.setattr(FrameSampler, "_sample", lambda self, grid, lo, hi, mode: (
        calls.append(hi - lo) or sample(self, grid, lo, hi, mode)))
    want, got = both(config(), "B", 67, 131, 131 * 8, reach=30.0, seed=5)
    assert np.array_equal(got, want)
    assert max(calls) < 12 - 2 * framesampler.REACH and len(calls) > 2 * 9  # several groups a strip


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
def test_the_sampler_is_grid_sample_of_the_whole_float_frame(mode, monkeypatch):
    """Any points, those outside the frame, infinite or not a number included, in one call or in
    groups (a window of 9 rows), on a frame of odd size."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (53, 71, 3), dtype=np.uint8)
    grid = torch.rand(1, 20, 33, 2) * 3.0 - 1.5
    grid[0, 0, :4] = torch.tensor([float("nan"), float("inf")])
    grid[0, 1, :4] = torch.tensor([-float("inf"), 1e30])
    grid[0, 2, :4, 1] = -1e30
    want = F.grid_sample(from_uint8(frame, CPU), grid, mode=mode, padding_mode="border", align_corners=False)
    for window in (framesampler.WINDOW_VALUES, 3 * 71 * 9):
        monkeypatch.setattr(framesampler, "WINDOW_VALUES", window)
        got = FrameSampler(frame, CPU)(grid, mode)
        assert torch.equal(torch.nan_to_num(got, 9.0), torch.nan_to_num(want, 9.0)), window
    assert torch.equal(FrameSampler(frame, CPU)(grid[:, :, :0], mode), want[..., :0])
    with pytest.raises(ValueError):
        FrameSampler(frame[..., 0], CPU)


def test_address_space_refused_is_an_allocation_failure(monkeypatch):
    """A mapping the system refuses (ENOMEM) is a MemoryError, which ``inrv decode`` reports as its
    out-of-memory line (tests/codec/test_decode_memory.py), not an internal error."""
    import errno
    import mmap

    def refused(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(mmap, "mmap", refused)
    frame = np.zeros((40, 48, 3), dtype=np.uint8)
    with pytest.raises(MemoryError):
        FrameSampler(frame, CPU)(torch.zeros(1, 2, 3, 2), "bicubic")

