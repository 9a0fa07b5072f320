"""The shared latent-grid part (codec.tools.latentgrid): pyramids in 2-D and 3-D, the decoding
orders, the integer context model and its entropy coding (3-D levels and 2-D ones), its float
training mirror, the Laplace rate, soft rounding, the decoder's upsampling and the training crops'
exact upsampling. grid's own use of it is tests/codec/test_grid.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bitstream import BitstreamError
from codec.tools.latentgrid import (
    IMAGE_SCHEMES,
    MAX_WEIGHT,
    NUM_SCALES,
    PAD,
    Q,
    RHO_Q,
    SCHEMES,
    IntegerContext,
    Pyramid,
    context_macs,
    context_shapes,
    decode_level,
    encode_level,
    max_words,
    tables,
    upsample,
    upsample_image,
)
from codec.tools.latentgrid.crops import Crop, LevelWindow, crop_size, crop_starts
from codec.tools.latentgrid.training import (
    ContextNet,
    LatentStack,
    laplace_bits,
    level_bits,
    quantize_proxy,
    region_bits,
    soft_round,
)

ALL_SCHEMES = {**SCHEMES, **IMAGE_SCHEMES}


def random_context(scheme: str, seed: int = 0, spread: int = 60) -> IntegerContext:
    rng = np.random.default_rng(seed)
    s = ALL_SCHEMES[scheme]
    codes = [rng.integers(-spread, spread + 1, shape) for shape in context_shapes(s, 8, 2)]
    return IntegerContext.from_codes(s, codes, 8, 2)


def random_net(scheme: str, seed: int, hidden: int = 8, levels: int = 0, biases: bool = True) -> ContextNet:
    """A training-side context model with random weights (and biases, and level offsets with
    ``levels``)."""
    torch.manual_seed(seed)
    net = ContextNet(ALL_SCHEMES[scheme], hidden, 2, levels)
    with torch.no_grad():
        for layers in net.nets:
            for lin in layers:
                lin.weight.normal_(0, 0.3)
                if biases:
                    lin.bias.normal_(0, 0.3)
        if net.level_bias is not None:
            net.level_bias.normal_(0, 1.0)
    return net


def laplace_latents(shape: tuple[int, ...], seed: int, spread: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(rng.laplace(0, spread, shape)), -Q, Q).astype(np.int64)


def test_pyramids_in_3d_and_2d():
    """grid's 3-D rule (level k at 2**-k of the frame, spanning 2**min(k, temporal) frames, sides
    rounded up) and the 2-D one (one image), which is the 3-D one of one frame."""
    p = Pyramid(5, 2)
    assert p.shapes(45, 61, 7) == [(7, 45, 61), (4, 23, 31), (2, 12, 16), (2, 6, 8), (2, 3, 4)]
    assert p.factors() == [(1, 1), (2, 2), (4, 4), (4, 8), (4, 16)]
    image = Pyramid.image(4)
    assert image.spatial_only and image.shapes(45, 61) == [(45, 61), (23, 31), (12, 16), (6, 8)]
    assert image.factors() == Pyramid(4, 0).factors() == [(1, 2**k) for k in range(4)]
    assert [(1, *s) for s in image.shapes(45, 61)] == Pyramid(4, 0).shapes(45, 61, 1)
    assert image.latents_per_pixel(45, 61) == pytest.approx(sum(h * w for h, w in image.shapes(45, 61)) / (45 * 61))
    with pytest.raises(ValueError):
        Pyramid(0, 1)


def test_scale_table_is_its_formula():
    for k, rq in enumerate(RHO_Q):
        b = math.exp(-3.0 + k / 8)
        assert abs(rq - 2**32 * math.exp(-1 / (4 * b))) <= 1
    t = tables()
    assert t.shape == (NUM_SCALES * 4, 4 * Q + 1) and (t > 0).all()
    sums = t.sum(axis=1)
    assert (sums <= 1 + 1e-9).all() and (sums > 0.9).all()
    assert np.allclose(sums[: 48 * 4], 1.0, atol=1e-6)  # scales up to e**3: no mass beyond +-2Q
    # mean fraction f shifts the mode: table (k, 0) peaks at symbol 0, i.e. index 2Q
    assert int(np.argmax(t[20 * 4])) == 2 * Q


@pytest.mark.parametrize("scheme", sorted(ALL_SCHEMES))
def test_neighbourhoods_reach_only_earlier_passes(scheme):
    shape = (3, 7, 9)
    s = ALL_SCHEMES[scheme]
    passes, classes = s.passes(shape)
    for t, y, x in np.ndindex(*shape):
        for dt, dy, dx in s.classes[classes[t, y, x]]:
            n = (t + dt, y + dy, x + dx)
            if all(0 <= v < m for v, m in zip(n, shape)):
                assert passes[n] < passes[t, y, x], (scheme, (t, y, x), (dt, dy, dx))


def test_image_scheme_is_the_causal_one_without_the_frame_before():
    causal, raster = SCHEMES["causal"], IMAGE_SCHEMES["raster"]
    assert raster.classes[0] == tuple(o for o in causal.classes[0] if o[0] == 0)
    assert all(dt == 0 for dt, _, _ in raster.classes[0])
    assert context_macs(raster, 8, 2) < context_macs(causal, 8, 2)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 5, 3), (4, 17, 23)])
def test_levels_round_trip(scheme, shape):
    values = laplace_latents(shape, 1)
    values.flat[0] = Q  # the range's ends code too
    values.flat[-1] = -Q
    ctx = random_context(scheme)
    words = encode_level(values, ctx)
    assert np.array_equal(decode_level(words, shape, ctx), values)


@pytest.mark.parametrize("scheme", sorted(ALL_SCHEMES))
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (17, 23)])
def test_2d_levels_round_trip_as_one_frame(scheme, shape):
    """A 2-D level codes as the 3-D level of one frame, to the same words, and decodes to its own
    shape (the frame before is the zero padding on both sides)."""
    values = laplace_latents(shape, 2)
    values.flat[0] = -Q
    ctx = random_context(scheme, seed=5)
    words = encode_level(values, ctx, level=1)
    assert np.array_equal(words, encode_level(values[None], ctx, level=1))
    back = decode_level(words, shape, ctx, level=1)
    assert back.shape == shape and np.array_equal(back, values)
    assert len(words) <= max_words(shape)
    with pytest.raises(ValueError):
        encode_level(values[None, None], ctx)


def test_context_lowers_the_rate_of_correlated_latents():
    """A context network that predicts each latent from its left neighbour codes a smooth ramp in
    fewer bits than one that ignores the neighbours: the context really is used."""
    values = np.tile(np.arange(64) // 4 - 8, (16, 1))[None].astype(np.int64)
    scheme = SCHEMES["causal"]
    shapes = context_shapes(scheme, 8, 1)
    blind = [np.zeros(s, dtype=np.int64) for s in shapes]
    blind[-1][1] = 2 * 256  # log-scale 2: wide
    left = [np.zeros(s, dtype=np.int64) for s in shapes]
    left[0][0, scheme.classes[0].index((0, 0, -1))] = 256  # hidden unit 0 = relu(left)
    left[0][1, scheme.classes[0].index((0, 0, -1))] = -256  # hidden unit 1 = relu(-left)
    left[2][0, 0], left[2][0, 1] = 256, -256  # mean = left
    left[3][1] = -2 * 256  # log-scale -2: narrow
    sizes = [len(encode_level(values, IntegerContext.from_codes(scheme, c, 8, 1))) for c in (blind, left)]
    assert sizes[1] * 2 < sizes[0]


def assert_mirrors(net: ContextNet, integer: IntegerContext, cls: int = 1, level: int = 0) -> None:
    """The integer model's snapped outputs are the float network's, to a quarter and an eighth."""
    feats = torch.randint(-6, 7, (500, len(net.scheme.classes[cls]))).float()
    mean, log_scale = net(cls, feats, level)
    q_mean, q_scale = integer.predict(cls, feats.numpy().astype(np.int64), level)
    assert np.abs(q_mean / 4 - mean.detach().numpy()).max() <= 0.13 + 1e-6
    expected = np.clip(np.round((log_scale.detach().numpy() + 3) * 8), 0, NUM_SCALES - 1)
    assert np.abs(q_scale - expected).max() <= 1


def test_integer_context_follows_the_float_network():
    net = random_net("checkerboard", 0, hidden=16)
    assert_mirrors(net, IntegerContext.from_codes(net.scheme, net.codes(), 16, 2))


def test_integer_context_follows_the_float_network_on_2d_levels():
    """On an image scheme, and on the real neighbours of a 2-D level (gathered as the coder does),
    the integer model's tables are those the float network's outputs snap to; the float rate of
    the level is close to the bytes the coder writes with them."""
    from codec.tools.latentgrid.coding import gather, padded

    net = random_net("raster", 4, levels=3, biases=False)
    with torch.no_grad():
        net.level_bias.copy_(torch.tensor([[0.0, 1.0], [0.25, 0.5], [-0.5, 1.5]]))
    integer = IntegerContext.from_codes(net.scheme, net.codes(), 8, 2, 3)
    assert_mirrors(net, integer, cls=0, level=2)
    values = laplace_latents((24, 30), 6, spread=3.0)
    t, y, x = np.unravel_index(np.arange(values.size), (1, *values.shape))
    feats = gather(padded(values[None]), t, y, x, net.scheme.classes[0])
    mean, log_scale = net(0, torch.from_numpy(feats).float(), 2)
    q_mean, q_scale = integer.predict(0, feats, 2)
    assert np.abs(q_mean / 4 - mean.detach().numpy()).max() <= 0.13 + 1e-6
    expected = np.clip(np.round((log_scale.detach().numpy() + 3) * 8), 0, NUM_SCALES - 1)
    assert np.abs(q_scale - expected).max() <= 1
    estimate = float(level_bits(torch.from_numpy(values).float(), net, 2).detach())
    written = len(encode_level(values, integer, 2)) * 32
    assert abs(written - estimate) < 0.1 * estimate + 64


def test_level_offsets_follow_the_float_network_and_shift_the_coding():
    """With per-level offsets, the integer model adds level k's offsets to its outputs as the float
    network does, and a level coded under a narrow offset takes fewer bytes than under a wide one
    (and decodes only under its own)."""
    net = random_net("checkerboard", 1, levels=4, biases=False)
    with torch.no_grad():
        net.level_bias.copy_(torch.tensor([[0.0, 2.0], [0.5, -2.0], [-1.0, 0.0], [0.25, 1.0]]))
    codes = net.codes()
    assert [c.shape for c in codes] == context_shapes(net.scheme, 8, 2, 4)
    integer = IntegerContext.from_codes(net.scheme, codes, 8, 2, 4)
    for level in range(4):
        assert_mirrors(net, integer, level=level)
    values = np.zeros((2, 16, 16), dtype=np.int64)
    values[0, 3, 4] = 1
    wide, narrow = (encode_level(values, integer, level) for level in (0, 1))
    assert len(narrow) < len(wide)
    assert np.array_equal(decode_level(narrow, values.shape, integer, level=1), values)
    assert np.array_equal(decode_level(wide, values.shape, integer, level=0), values)


@pytest.mark.parametrize("shape", [(2, 12, 12), (12, 12)])
def test_damaged_latent_data_is_an_error(shape):
    rng = np.random.default_rng(2)
    values = laplace_latents(shape, 2, spread=3.0)
    ctx = random_context("checkerboard")
    words = encode_level(values, ctx)
    outcomes = set()
    for _ in range(20):
        bad = words.copy()
        bad[rng.integers(len(bad))] ^= np.uint32(1 << int(rng.integers(32)))
        try:
            decoded = decode_level(bad, values.shape, ctx)
            outcomes.add("frames" if decoded.shape == values.shape else "wrong shape")
        except BitstreamError:
            outcomes.add("error")
    assert outcomes <= {"frames", "error"}
    with pytest.raises(BitstreamError):
        decode_level(words[:-1] if len(words) > 1 else words[:0], values.shape, ctx)
    with pytest.raises(BitstreamError):
        decode_level(np.concatenate([words, words]), values.shape, ctx)


def test_context_weights_out_of_range_are_refused():
    codes = [np.zeros(s, dtype=np.int64) for s in context_shapes(SCHEMES["checkerboard"], 8, 2)]
    codes[0][0, 0] = MAX_WEIGHT + 1
    with pytest.raises(BitstreamError):
        IntegerContext.from_codes(SCHEMES["checkerboard"], codes, 8, 2)


def test_training_rate_matches_the_coder():
    """The training estimate (continuous Laplace) is within a few percent of the bits the integer
    model's tables give the same latents."""
    values = laplace_latents((2, 40, 40), 3).astype(np.float64)
    mean, log_scale = torch.zeros(values.size), torch.full((values.size,), math.log(2.0))
    bits = float(laplace_bits(torch.from_numpy(values.reshape(-1)).float(), mean, log_scale))
    table = tables()[int(round((math.log(2.0) + 3) * 8)) * 4]
    ideal = float(-np.log2(table[(values.reshape(-1) + 2 * Q).astype(int)]).sum())
    assert abs(bits - ideal) / ideal < 0.03


def test_soft_round_ends_at_round():
    x = torch.linspace(-3, 3, 101) + 0.013  # no exact halves
    assert torch.allclose(soft_round(x, 1e-3), torch.round(x), atol=1e-3)
    assert (soft_round(x, 10.0) - x).abs().max() < 0.01


def test_quantize_proxy_modes():
    y = torch.linspace(-2, 2, 41, requires_grad=True)
    seen, coded = quantize_proxy(y, None)
    assert torch.equal(seen, torch.round(y.detach())) and seen is coded
    seen.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))  # straight-through
    torch.manual_seed(0)
    seen, coded = quantize_proxy(y, 0.2)
    noise = coded.detach() - soft_round(y.detach(), 0.2)
    assert noise.abs().max() <= 0.5 and noise.std() > 0.1
    assert torch.allclose(seen, soft_round(coded, 0.2))


@pytest.mark.parametrize("scheme", ["checkerboard", "causal"])
def test_crop_rates_add_up_to_the_whole_level(scheme):
    """The rate of latents under a crop, from a slice with its margin, is their part of the whole
    level's: windows of grids and rows that tile a level sum to its bits (neighbours across the
    cuts, the previous grid's included, are the real ones)."""
    net = random_net(scheme, 3, levels=4, biases=False)
    y = torch.randn(5, 11, 13).mul(3).round()
    bits = lambda *a: float(region_bits(*a).detach())  # noqa: E731
    whole = bits(y, (0, 5, 0, 11, 0, 13), (0, 0, 0), net, 2)
    assert whole == pytest.approx(float(level_bits(y, net, 2).detach()))
    parts = 0.0
    for u0, u1 in ((0, 2), (2, 3), (3, 5)):
        for r0, r1 in ((0, 4), (4, 11)):
            for c0, c1 in ((0, 6), (6, 13)):
                v0, v1, s0, s1 = max(0, u0 - PAD), min(5, u1 + PAD), max(0, r0 - PAD), min(11, r1 + PAD)
                t0, t1 = max(0, c0 - PAD), min(13, c1 + PAD)
                parts += bits(y[v0:v1, s0:s1, t0:t1], (u0 - v0, u1 - v0, r0 - s0, r1 - s0, c0 - t0, c1 - t0),
                              (v0, s0, t0), net, 2)
    assert abs(parts - whole) < 1e-3 * whole
    assert whole != bits(y, (0, 5, 0, 11, 0, 13), (0, 0, 0), net, 0)


def test_upsampling_a_2d_pyramid():
    """A 2-D pyramid upsamples to its image size; level 0 is itself, a coarser level is bilinear
    interpolation (half-pixel centres, edges clamped) and equals the one-frame 3-D upsampling."""
    pyramid = Pyramid.image(4)
    torch.manual_seed(0)
    levels = [torch.randn(s) for s in pyramid.shapes(45, 61)]
    z = upsample_image(levels, pyramid.factors(), 45, 61)
    assert z.shape == (4, 45, 61) and torch.equal(z[0], levels[0])
    assert torch.equal(z, upsample([y[None] for y in levels], Pyramid(4, 0).factors(), 1, 45, 61)[0])
    for k in range(1, 4):
        ref = F.interpolate(levels[k][None, None], scale_factor=2**k, mode="bilinear", align_corners=False)
        assert torch.allclose(z[k], ref[0, 0, :45, :61], atol=1e-5)


@pytest.mark.parametrize("pyramid, frames", [(Pyramid(5, 2), 7), (Pyramid.image(5), 1)])
def test_crops_see_the_whole_upsampling(pyramid, frames):
    """Each level's window of a crop (3-D, or 2-D as one frame) upsamples its slice to exactly the
    crop's samples of the whole level's upsampling, and its part spans the crop."""
    shapes = [s if len(s) == 3 else (1, *s) for s in pyramid.shapes(45, 61, frames)]
    torch.manual_seed(1)
    levels = [torch.randn(s).round() for s in shapes]
    full = upsample(levels, pyramid.factors(), frames, 45, 61)
    crops = [Crop(0, frames, 0, 0, 45, 61), Crop(0, 1, 7, 13, 20, 30), Crop(frames - 1, 1, 25, 31, 20, 30),
             Crop(0, frames, 1, 2, 44, 59)]
    for crop in crops:
        for k, (y, factor) in enumerate(zip(levels, pyramid.factors())):
            window = LevelWindow.of(tuple(y.shape), factor, crop, (frames, 45, 61))
            got = window.upsample(window.slice(y))
            ref = full[crop.first : crop.first + crop.frames, k, crop.top : crop.top + crop.height,
                       crop.left : crop.left + crop.width]
            assert torch.allclose(got, ref, atol=1e-5), (crop, k)
            assert window.spanned >= crop.frames * crop.height * crop.width if factor == (1, 1) else window.spanned > 0


def test_crop_sizes_and_starts():
    assert crop_size(144, 176, 8, 160 * 160 * 8) == (8, 144, 176)
    assert crop_size(272, 640, 8, 160 * 160 * 8) == (1, 272, 640)
    assert crop_size(360, 640, 8, 160 * 160 * 8) == (1, 360, 568)
    assert crop_starts(7, 3) == [0, 3, 4] and crop_starts(6, 3) == [0, 3]


def test_latent_stack_starts_from_the_previous_one():
    """Zeros first; then a 3-D level repeats the previous stack's last grid, a 2-D one keeps its
    level; codes are the rounded latents within [-Q, Q]."""
    stack = LatentStack.start([(4, 3, 5), (2, 2, 3)], torch.device("cpu"))
    assert all(torch.count_nonzero(y) == 0 for y in stack)
    with torch.no_grad():
        for y in stack:
            y.copy_(torch.randn_like(y) * 200)
    stack.clamp_()
    assert all(y.abs().max() <= Q for y in stack)
    nxt = LatentStack.start([(3, 3, 5), (2, 2, 3)], torch.device("cpu"), stack)
    assert all(torch.equal(n[t], s[-1]) for n, s in zip(nxt, stack) for t in range(n.shape[0]))
    codes = nxt.codes()
    assert [c.dtype for c in codes] == [np.int64] * 2
    assert np.array_equal(codes[1][0], torch.round(stack[1][-1].detach()).numpy())
    image = LatentStack.start([(6, 5), (3, 3)], torch.device("cpu"))
    with torch.no_grad():
        image[0].fill_(2.4)
    again = LatentStack.start([(6, 5), (3, 3)], torch.device("cpu"), image)
    assert torch.equal(again[0], image[0]) and again[0] is not image[0]


def test_the_decoder_side_imports_nothing_of_training():
    """The package's namespace (and grid's decoder, which uses it) loads neither its training module
    nor the crops, nor anything of training elsewhere."""
    import subprocess
    import sys

    training = ("compressai", "pytorch_msssim", "codec.tools.fit", "codec.tools.qat", "codec.tools.runner",
                "codec.tools.latentgrid.training", "codec.tools.latentgrid.crops")
    code = ("import sys, codec.tools.latentgrid, codec.families.grid.decode; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {training} or m in {training}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("scheme", ["checkerboard", "causal", "raster"])
def test_the_flat_pyramid_rate_is_the_levels_rate(scheme):
    """PyramidRate (every level in one pass over flat latents) counts what level_bits counts level
    by level, per-level offsets included."""
    from codec.tools.latentgrid import IMAGE_SCHEMES, SCHEMES
    from codec.tools.latentgrid.training import ContextNet, PyramidRate, level_bits

    torch.manual_seed(0)
    chosen = {**SCHEMES, **IMAGE_SCHEMES}[scheme]
    shapes = [(2, 9, 13), (1, 5, 7), (1, 3, 4)]
    context = ContextNet(chosen, 8, 2, levels=len(shapes))
    with torch.no_grad():
        for p in context.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    levels = [torch.randint(-3, 4, s).float() for s in shapes]
    flat = torch.cat([y.reshape(-1) for y in levels])
    rate = PyramidRate(shapes, chosen, torch.device("cpu"))
    expected = sum(float(level_bits(y, context, k).detach()) for k, y in enumerate(levels))
    assert float(rate.bits(flat, context).detach()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("scheme", ["checkerboard", "causal", "raster"])
def test_levels_decoded_together_are_the_levels_decoded_one_by_one(scheme, monkeypatch):
    """decode_levels (passes of every level interleaved, one context call per pass and class) gives
    decode_level's grids, with the laid-out decoding order and without it; a truncated level is a
    BitstreamError."""
    from codec.tools.latentgrid import IMAGE_SCHEMES, SCHEMES, IntegerContext, context_shapes, decode_levels
    from codec.tools.latentgrid import coding

    rng = np.random.default_rng(3)
    chosen = {**SCHEMES, **IMAGE_SCHEMES}[scheme]
    shapes = [(1, 17, 23), (1, 9, 12), (1, 5, 6), (2, 3, 3)]
    codes = [rng.integers(-40, 40, s) for s in context_shapes(chosen, 8, 2, len(shapes))]
    context = IntegerContext.from_codes(chosen, codes, 8, 2, len(shapes))
    levels = [np.clip(np.round(rng.laplace(0, 2, s)), -Q, Q).astype(np.int64) for s in shapes]
    words = [encode_level(y, context, k) for k, y in enumerate(levels)]
    for limit in (coding.LAYOUT_LIMIT, 0):
        monkeypatch.setattr(coding, "LAYOUT_LIMIT", limit)
        together = decode_levels(words, shapes, context)
        assert all(np.array_equal(a, b) for a, b in zip(together, levels))
    with pytest.raises(BitstreamError):
        decode_levels([words[0][:-1]] + words[1:], shapes, context)


@pytest.mark.parametrize("scheme", ["checkerboard", "causal", "raster"])
def test_a_pyramid_in_one_stream_round_trips_in_fewer_bytes(scheme, monkeypatch):
    """encode_pyramid puts every level in one ANS stream, in decode_levels' order (passes of the
    levels interleaved, classes in turn): decode_pyramid gives the levels back, with the laid-out
    decoding order and without it; it costs fewer bytes than a stream per level (one flush), most
    where the latents are nearly all zero; damaged words are a BitstreamError or other frames,
    words left over an error."""
    from codec.tools.latentgrid import IMAGE_SCHEMES, SCHEMES, IntegerContext, context_shapes
    from codec.tools.latentgrid import coding, decode_pyramid, encode_pyramid

    rng = np.random.default_rng(4)
    chosen = {**SCHEMES, **IMAGE_SCHEMES}[scheme]
    shapes = [(1, 17, 23), (1, 9, 12), (1, 5, 6), (2, 3, 3), (1, 1, 1)]
    codes = [rng.integers(-40, 40, s) for s in context_shapes(chosen, 8, 2, len(shapes))]
    context = IntegerContext.from_codes(chosen, codes, 8, 2, len(shapes))
    for spread in (0.05, 2.0):
        levels = [np.clip(np.round(rng.laplace(0, spread, s)), -Q, Q).astype(np.int64) for s in shapes]
        levels[0].flat[0], levels[-1].flat[0] = Q, -Q
        words = encode_pyramid(levels, context)
        for limit in (coding.LAYOUT_LIMIT, 0):
            monkeypatch.setattr(coding, "LAYOUT_LIMIT", limit)
            back = decode_pyramid(words, shapes, context)
            assert all(np.array_equal(a, b) for a, b in zip(back, levels))
        apart = sum(1 + 4 * len(encode_level(y, context, k)) for k, y in enumerate(levels))
        assert 1 + 4 * len(words) < apart - 4 * (len(shapes) - 2), (spread, len(words), apart)
    with pytest.raises(BitstreamError):
        decode_pyramid(np.concatenate([words, words]), shapes, context)
    outcomes = set()
    for _ in range(20):
        bad = words.copy()
        bad[rng.integers(len(bad))] ^= np.uint32(1 << int(rng.integers(32)))
        try:
            outcomes.add(tuple(y.shape for y in decode_pyramid(bad, shapes, context)) == tuple(shapes))
        except BitstreamError:
            outcomes.add("error")
    assert outcomes <= {True, "error"}
    with pytest.raises(ValueError):
        encode_pyramid([np.full((2, 2), Q + 1)], context)
