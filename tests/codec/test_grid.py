"""The ``grid`` family's own parts: the integer context model and its entropy coding, the decoding
orders, the training crops, the chunk payload, the decoder's cost and the options. The contract
suite (tests/codec/test_contract.py) covers round trips, range decode, info and hostile streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import codec
from bitstream import BitstreamError
from bitstream.payloads import GridRecord, read_grid, write_grid
from codec.config import EncodeConfig
from codec.configio import pack_config, unpack_config
from codec.errors import ConfigError
from codec.families.grid import FAMILY
from codec.families.grid.config import GridConfig
from codec.families.grid.context import (
    PAD,
    MAX_WEIGHT,
    NUM_SCALES,
    Q,
    RHO_Q,
    SCHEMES,
    IntegerContext,
    context_shapes,
    decode_level,
    encode_level,
    tables,
)
from codec.families.grid.config import CONTEXTS as SCHEMES_ORDER
from codec.families.grid.encode import ContextNet, Crop, GridTrainable, laplace_bits, region_bits, soft_round
from codec.families.grid.net import decoder_macs, upsample
from codec.streaminfo import describe_stream


def config(**kw) -> GridConfig:
    base = dict(gop=4, levels=4, temporal=2, hidden=8, layers=2, refine=1, context=0, ctx_hidden=8, ctx_layers=2)
    base.update(kw)
    return GridConfig(**base)


def random_context(scheme: str, seed: int = 0, spread: int = 60) -> IntegerContext:
    rng = np.random.default_rng(seed)
    codes = [rng.integers(-spread, spread + 1, s) for s in context_shapes(SCHEMES[scheme], 8, 2)]
    return IntegerContext.from_codes(SCHEMES[scheme], codes, 8, 2)


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


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_neighbourhoods_reach_only_earlier_passes(scheme):
    shape = (3, 7, 9)
    s = SCHEMES[scheme]
    passes, classes = s.passes(shape)
    for t, y, x in np.ndindex(*shape):
        for dt, dy, dx in s.classes[classes[t, y, x]]:
            n = (t + dt, y + dy, x + dx)
            if all(0 <= v < m for v, m in zip(n, shape)):
                assert passes[n] < passes[t, y, x], (scheme, (t, y, x), (dt, dy, dx))


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 5, 3), (4, 17, 23)])
def test_levels_round_trip(scheme, shape):
    rng = np.random.default_rng(1)
    values = np.clip(np.round(rng.laplace(0, 2.0, shape)), -Q, Q).astype(np.int64)
    values.flat[0] = Q  # the range's ends code too
    values.flat[-1] = -Q
    ctx = random_context(scheme)
    words = encode_level(values, ctx)
    assert np.array_equal(decode_level(words, shape, ctx), values)


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


def random_net(cfg: GridConfig, seed: int, biases: bool = True) -> ContextNet:
    """A training-side context model with random weights (and biases, and level offsets where
    the config has them)."""
    torch.manual_seed(seed)
    net = ContextNet(cfg)
    with torch.no_grad():
        for layers in net.nets:
            for lin in layers:
                lin.weight.normal_(0, 0.3)
                if biases:
                    lin.bias.normal_(0, 0.3)
        if net.level_bias is not None:
            net.level_bias.normal_(0, 1.0)
    return net


def assert_mirrors(net: ContextNet, integer: IntegerContext, level: int = 0) -> None:
    """The integer model's snapped outputs are the float network's, to a quarter and an eighth."""
    feats = torch.randint(-6, 7, (500, len(net.scheme.classes[1]))).float()
    mean, log_scale = net(1, feats, level)
    q_mean, q_scale = integer.predict(1, feats.numpy().astype(np.int64), level)
    assert np.abs(q_mean / 4 - mean.detach().numpy()).max() <= 0.13 + 1e-6
    expected = np.clip(np.round((log_scale.detach().numpy() + 3) * 8), 0, NUM_SCALES - 1)
    assert np.abs(q_scale - expected).max() <= 1


def test_integer_context_follows_the_float_network():
    net = random_net(config(ctx_hidden=16), 0)
    assert_mirrors(net, IntegerContext.from_codes(net.scheme, net.codes(), 16, 2))


def test_level_offsets_follow_the_float_network_and_shift_the_coding():
    """With ``level_bias``, the integer model adds level k's offsets to its outputs as the float
    network does, and a level coded under a narrow offset takes fewer bytes than under a wide one
    (and decodes only under its own)."""
    cfg = config(ctx_hidden=8, level_bias=True)
    net = random_net(cfg, 1, biases=False)
    with torch.no_grad():
        net.level_bias.copy_(torch.tensor([[0.0, 2.0], [0.5, -2.0], [-1.0, 0.0], [0.25, 1.0]]))
    codes = net.codes()
    assert [c.shape for c in codes] == context_shapes(net.scheme, 8, 2, cfg.levels)
    integer = IntegerContext.from_codes(net.scheme, codes, 8, 2, cfg.levels)
    for level in range(cfg.levels):
        assert_mirrors(net, integer, level)
    values = np.zeros((2, 16, 16), dtype=np.int64)
    values[0, 3, 4] = 1
    wide, narrow = (encode_level(values, integer, level) for level in (0, 1))
    assert len(narrow) < len(wide)
    assert np.array_equal(decode_level(narrow, values.shape, integer, level=1), values)
    assert np.array_equal(decode_level(wide, values.shape, integer, level=0), values)


def test_level_bias_is_a_trailing_config_field():
    """Streams without the field (written before it) read as False; True is written and read back."""
    plain, biased = config(), config(level_bias=True)
    assert not plain.level_bias and plain.bias_levels == 0 and biased.bias_levels == biased.levels
    assert unpack_config(GridConfig, pack_config(plain)) == plain
    assert unpack_config(GridConfig, pack_config(biased)) == biased
    assert len(pack_config(biased)) == len(pack_config(plain)) + 1


def test_damaged_latent_data_is_an_error():
    rng = np.random.default_rng(2)
    values = np.clip(np.round(rng.laplace(0, 3.0, (2, 12, 12))), -Q, Q).astype(np.int64)
    ctx = random_context("checkerboard")
    words = encode_level(values, ctx)
    outcomes = set()
    for trial in range(20):
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
    rng = np.random.default_rng(3)
    values = np.clip(np.round(rng.laplace(0, 2.0, (2, 40, 40))), -Q, Q)
    mean, log_scale = torch.zeros(values.size), torch.full((values.size,), math.log(2.0))
    bits = float(laplace_bits(torch.from_numpy(values.reshape(-1)).float(), mean, log_scale))
    table = tables()[int(round((math.log(2.0) + 3) * 8)) * 4]
    ideal = float(-np.log2(table[(values.reshape(-1) + 2 * Q).astype(int)]).sum())
    assert abs(bits - ideal) / ideal < 0.03


def test_soft_round_ends_at_round():
    x = torch.linspace(-3, 3, 101) + 0.013  # no exact halves
    assert torch.allclose(soft_round(x, 1e-3), torch.round(x), atol=1e-3)
    assert (soft_round(x, 10.0) - x).abs().max() < 0.01


def test_crops_see_the_whole_frame_upsampling():
    cfg = config(levels=5, temporal=2)
    model = GridTrainable(cfg, 45, 61)
    model.start_group(7, torch.device("cpu"))
    with torch.no_grad():
        for y in model.latents:
            y.copy_(torch.randn_like(y).round())
    full = upsample([y.detach() for y in model.latents], model.factors, 7, 45, 61)
    seen = {}
    from codec.families.grid import encode as grid_encode

    original = grid_encode.functional_call

    def spy(module, params, args):
        seen["z"] = args[0]
        return original(module, params, args)

    grid_encode.functional_call = spy
    try:
        for crop in (Crop(0, 7, 0, 0, 45, 61), Crop(0, 3, 7, 13, 20, 30), Crop(3, 1, 25, 31, 20, 30),
                     Crop(6, 1, 0, 0, 45, 61), Crop(2, 4, 1, 2, 44, 59)):
            model(7, crop, None)
            ref = full[crop.first : crop.first + crop.frames, :, crop.top : crop.top + crop.height,
                       crop.left : crop.left + crop.width]
            assert torch.allclose(seen["z"], ref, atol=1e-5)
    finally:
        grid_encode.functional_call = original


@pytest.mark.parametrize("scheme", ["checkerboard", "causal"])
def test_crop_rates_add_up_to_the_whole_level(scheme):
    """The rate of latents under a crop, from a slice with its margin, is their part of the whole
    level's: windows of grids and rows that tile a level sum to its bits (neighbours across the
    cuts, the previous grid's included, are the real ones)."""
    net = random_net(config(context=SCHEMES_ORDER.index(scheme), level_bias=True), 3, biases=False)
    y = torch.randn(5, 11, 13).mul(3).round()
    bits = lambda *a: float(region_bits(*a).detach())  # noqa: E731
    whole = bits(y, (0, 5, 0, 11, 0, 13), (0, 0, 0), net, 2)
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


def test_payload_round_trip_and_flags():
    rng = np.random.default_rng(4)
    synth, ctx = [(3, 2), (3,)], [(2, 2)]
    record = GridRecord(steps=12, synthesis_steps=np.array([0.5, 0.25], dtype=np.float32),
                        synthesis=tuple(rng.integers(-9, 9, s) for s in synth),
                        context=tuple(rng.integers(-9, 9, s) for s in ctx),
                        levels=(np.array([1, 2, 3], dtype=np.uint32), np.zeros(0, dtype=np.uint32)))
    data = write_grid(record)
    back = read_grid(data, synth, ctx, [10, 10])
    assert back.steps == 12 and np.array_equal(back.synthesis_steps, record.synthesis_steps)
    assert all(np.array_equal(a, b) for a, b in zip(back.synthesis + back.context, record.synthesis + record.context))
    assert [len(w) for w in back.levels] == [3, 0] and sum(back.parts) == len(data)
    with pytest.raises(BitstreamError):
        read_grid(bytes([0x80]) + data[1:], synth, ctx, [10, 10])
    with pytest.raises(BitstreamError):
        read_grid(data, synth, ctx, [2, 10])  # more words than the level can hold


def test_decoder_cost_is_low():
    cfg = FAMILY.make_config(EncodeConfig.of(model="grid"), codec.family.Geometry(640, 272, 64, 25.0))
    macs = decoder_macs(cfg, cfg.gop, 272, 640)
    assert macs["total"] < 5000
    assert macs["synthesis"] == sum(a * b for a, b in [(cfg.levels, cfg.hidden), (cfg.hidden, cfg.hidden),
                                                         (cfg.hidden, 3)]) + cfg.refine * 2 * 81


def test_options_and_sizes():
    geometry = codec.family.Geometry(176, 144, 16, 30.0)
    assert FAMILY.make_config(EncodeConfig.of(model="grid", preset="xs"), geometry).hidden == 8
    assert FAMILY.make_config(EncodeConfig.of(model="grid", density=20), geometry).hidden == 20
    assert FAMILY.make_config(EncodeConfig.of(model="grid", context="causal"), geometry).scheme == "causal"
    small = FAMILY.make_config(EncodeConfig.of(model="grid", params=400), geometry)
    assert small.hidden >= 8
    with pytest.raises(ConfigError):
        FAMILY.make_config(EncodeConfig.of(model="grid", params=100), geometry)
    with pytest.raises(ConfigError):
        EncodeConfig.of(model="grid", context="raster")
    assert FAMILY.make_config(EncodeConfig.of(model="grid", gop=8), codec.family.Geometry(176, 144, 3, 30.0)).gop == 3


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_encode_decode_and_info(tmp_path, carphone_y4m, carphone_frames, scheme):
    dst = tmp_path / "g.inrv"
    result = codec.encode(carphone_y4m, dst, EncodeConfig.of(model="grid", count=5, threads=1, steps=15, gop=2,
                                                              context=scheme, progress=False))
    assert result.num_frames == 5 and len(result.groups) == 3
    assert result.bpp == pytest.approx(dst.stat().st_size * 8 / (176 * 144 * 5))
    info = describe_stream(dst)
    assert "multiply-adds per pixel" in info and f"context {scheme}" in info
    assert all(f"L{k}" in info for k in range(7))
    frames = np.stack(list(codec.open(dst).frames()))
    assert frames.shape == carphone_frames[:5].shape


def test_rate_control_runs_on_the_grid_ladder(tmp_path):
    """--target-bpp searches grid's ladder with probe fits of two groups and reports what the file
    hit (a time budget keeps each fit short here)."""
    from codec.results import RateControlResult
    from codec.video import write_video

    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (1, 24, 32, 3)).astype(np.float32)
    frames = np.clip(base + rng.normal(0, 3, (6, 24, 32, 3)), 0, 255).astype(np.uint8)
    src = tmp_path / "c.y4m"
    write_video(src, frames, fps=25)
    r = codec.encode(src, tmp_path / "rc.inrv", EncodeConfig.of(model="grid", threads=1, progress=False, gop=2,
                                                                  target_bpp=2.0, time_budget=1.0))
    rc = r.rate_control
    assert isinstance(rc, RateControlResult) and rc.target == "bpp"
    assert rc.probes and all(p.frames == 4 for p in rc.probes)
    assert rc.hit == pytest.approx((tmp_path / "rc.inrv").stat().st_size * 8 / (6 * 24 * 32))
    assert 1.0 <= rc.quality <= 8.0
