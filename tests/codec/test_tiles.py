"""Strips of rows (codec.tools.tiles): every operation's strip gives the whole map's rows bit for
bit, the planner covers a frame, the elementwise wrapper is position-invariant; the decoders'
own assemblies (latent upsampling, tubelet blending, patch placement) against their whole-frame
forms. The per-family check (a real stream decoded in strips equals its whole-frame decode) is
in test_contract_tiles.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from codec.tools import tiles
from codec.tools.latentgrid import upsample, upsample_rows
from codec.tools.patches import PatchGrid
from codec.tools.tiles import (Canvas, Conv, Crop, Map, Rows, Shuffle, Strip, Sum, Upsample, forward, need, plan,
                               pointwise, render_rows)
from codec.tools.tubelets import TubeletGrid


@pytest.fixture(autouse=True)
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.mark.parametrize("height,width,frames,pixels", [(144, 176, 1, 176 * 30), (40, 48, 4, 48 * 4 * 7),
                                                        (1080, 1920, 1, 1 << 18), (7, 5, 1, 1), (10, 10, 1, 100)])
def test_plan_covers_the_frame_in_nearly_equal_strips(height, width, frames, pixels):
    with tiles.strip_pixels(pixels):
        strips = plan(height, width, frames)
    assert strips[0][0] == 0 and strips[-1][1] == height
    assert all(a < b and b == c for (a, b), (c, _) in zip(strips, strips[1:] + [(height, 0)]))
    sizes = [b - a for a, b in strips]
    assert max(sizes) - min(sizes) <= 1
    assert (len(strips) == 1) == (height * width * frames <= pixels)


def test_budget_switches_strips_off_and_back():
    assert len(plan(1080, 1920)) > 1
    assert min(b - a for a, b in plan(4320, 7680, 4)) >= tiles.MIN_ROWS  # 8 rows by the budget alone
    with tiles.strip_pixels(None):
        assert plan(1080, 1920) == [(0, 1080)]
        assert tiles.frames_at_once(4320, 7680) > 1000
    assert tiles.frames_at_once(4320, 7680) == 1
    with pytest.raises(ValueError):
        with tiles.strip_pixels(0):
            pass


def strips_of(ops, x: torch.Tensor, rows: int, out_rows: int) -> torch.Tensor:
    """``ops`` on ``x`` rendered ``rows`` output rows at a time (the last strip shorter)."""
    whole = Strip(x, Rows(0, x.shape[2], x.shape[2]))
    parts = [render_rows(ops, whole.crop, Rows(a, min(out_rows, a + rows), out_rows))
             for a in range(0, out_rows, rows)]
    return torch.cat(parts, dim=2)


def whole_of(ops, x: torch.Tensor) -> torch.Tensor:
    return forward(ops, Strip(x, Rows(0, x.shape[2], x.shape[2]))).x


@pytest.mark.parametrize("batch", [1, 4])
def test_a_trunk_of_operations_gives_the_whole_maps_rows_in_any_strips(batch):
    """Maps over 20480 values (or batches of several): those torch convolves on oneDNN whole, as
    every map a decoder splits (rule 2 of codec.tools.tiles)."""
    torch.manual_seed(0)
    c1 = nn.Conv2d(6, 8 * 4, 3, padding=1)
    c2 = nn.Conv2d(8, 8, 5, padding=2, groups=8)
    c3 = nn.Conv2d(8, 3, 3, padding=1, padding_mode="replicate")
    c4 = nn.Conv2d(8, 8, 1)
    ops = [Conv(c1), Shuffle(2), Map(lambda x: pointwise(F.gelu, x)),
           Sum([], [Conv(c2), Map(lambda x: pointwise(torch.sigmoid, x))], [Map(c4)]),
           Upsample(2), Conv(c3), Upsample(4), Crop(401, 503, 488)]
    x = torch.randn(batch, 6, 61, 71)
    with torch.inference_mode():
        whole = whole_of(ops, x)
        assert whole.shape == (batch, 3, 401, 503)
        for rows in (7, 13, 400, 401):
            assert torch.equal(strips_of(ops, x, rows, 401), whole), rows


def test_operations_need_the_rows_their_kernels_reach():
    conv = Conv(nn.Conv2d(2, 2, 5, padding=2))
    assert conv.need(Rows(10, 20, 50)) == Rows(8, 22, 50)
    assert conv.need(Rows(0, 3, 50)) == Rows(0, 5, 50)
    assert Shuffle(4).need(Rows(5, 13, 40)) == Rows(1, 4, 10)
    assert Upsample(2).need(Rows(5, 13, 40)) == Rows(1, 8, 20)
    assert need([Shuffle(2), conv], Rows(10, 20, 50)) == Rows(4, 11, 25)
    with pytest.raises(ValueError, match="not strip-exact"):
        Upsample(3)
    with pytest.raises(ValueError):
        Conv(nn.Conv2d(2, 2, 3, padding=0))


def test_pointwise_gives_an_element_the_same_bits_wherever_it_lies():
    """torch's sigmoid computes a tensor's last elements with scalar code that can differ in the
    last bit from its vectorized code (the reason for pointwise); wrapped, an element's value does
    not depend on the slice it is computed in."""
    torch.manual_seed(1)
    x = torch.randn(5000) * 4
    ref = pointwise(torch.sigmoid, x)
    assert all(torch.equal(pointwise(torch.sigmoid, x[a : a + n].clone()), ref[a : a + n])
               for a in (0, 3, 999) for n in range(1, 70))
    assert torch.equal(pointwise(torch.sigmoid, x[: 1 << 14]), torch.sigmoid(x[: 1 << 14]))
    assert pointwise(torch.sigmoid, x.view(50, 100)).shape == (50, 100)


@pytest.mark.parametrize("threads", [1, 2])
def test_pointwise_does_not_depend_on_the_thread_count(threads):
    torch.manual_seed(2)
    x = torch.randn(100_003)
    one = pointwise(F.gelu, x)
    torch.set_num_threads(threads)
    assert torch.equal(pointwise(F.gelu, x), one)


@pytest.mark.parametrize("factors", [[(1, 1), (2, 2), (4, 4), (8, 8), (8, 16), (8, 64)], [(1, 1), (1, 2), (1, 4)]])
def test_upsampled_rows_are_the_whole_pyramids_rows(factors):
    """A strip of frames and rows of the upsampled latent pyramid (grid's first step) equals the
    whole group's upsampling cut to it, bit for bit, at every edge and for integer levels."""
    torch.manual_seed(3)
    frames, height, width = 7, 45, 37
    levels = [torch.randint(-20, 21, (-(-frames // ft), -(-height // fs), -(-width // fs)), dtype=torch.int8)
              for ft, fs in factors]
    whole = upsample([y.float() for y in levels], factors, frames, height, width)
    for first, stop in [(0, 1), (0, 7), (3, 4), (5, 7), (6, 7)]:
        for lo, hi in [(0, 45), (0, 1), (7, 21), (30, 45), (44, 45)]:
            got = upsample_rows(levels, factors, first, stop, Rows(lo, hi, height), width)
            assert torch.equal(got, whole[first:stop, :, lo:hi]), (first, stop, lo, hi)


@pytest.mark.parametrize("height,width,overlap", [(40, 48, 8), (144, 176, 8), (70, 30, 0), (64, 64, 4), (20, 20, 8)])
def test_tubelet_bands_are_the_assembled_frames_rows(height, width, overlap):
    torch.manual_seed(4)
    grid = TubeletGrid(height, width, 32, 32, overlap)
    tiles_ = torch.rand(grid.count, 3, 3, 32, 32)
    whole = grid.assemble(tiles_)
    bands = list(grid.blend(iter(tiles_)))
    assert [top for top, _ in bands] == sorted({top for top, _ in bands})
    assert torch.equal(torch.cat([rows for _, rows in bands], dim=2), whole)
    assert grid.count == len(grid.positions)


def test_patches_are_placed_where_the_grid_puts_them():
    grid = PatchGrid(37, 45, 8)
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (3, 37, 45, 3), dtype=np.uint8)
    patches = grid.tubes(frames).view(grid.count, 8, 8, 3, 3).permute(0, 3, 1, 2, 4).numpy()
    assert np.array_equal(grid.assemble(np.ascontiguousarray(patches)), frames)
    out = np.zeros_like(frames)
    for a in range(0, grid.count, 7):
        grid.place(out, a, patches[a : a + 7])
    assert np.array_equal(out, frames)


def test_canvas_drops_what_lies_outside_the_frames():
    canvas = Canvas(2, 5, 6)
    canvas.frames[:] = 0
    canvas.put(torch.ones(2, 3, 4, 4), top=3, left=4)
    assert canvas.frames[:, 3:, 4:].min() == 255 and canvas.frames[:, :3].max() == 0 and canvas.frames[:, :, :4].max() == 0
