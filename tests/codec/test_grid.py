"""The ``grid`` family's own parts: its config, its training crops through its trainable model, the
chunk payload, the decoder's cost and the options. The latent-grid machinery it uses (pyramids,
the integer context model and its coding, the training mirror, upsampling) is tested in
tests/codec/test_latentgrid.py; the contract suite (tests/codec/test_contract.py) covers round
trips, range decode, info and hostile streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import codec
from bitstream import BitstreamError
from bitstream.records.grid import GridRecord, read_grid, write_grid
from codec.config import EncodeConfig
from codec.configio import pack_config, unpack_config
from codec.errors import ConfigError
from codec.families.grid.family import FAMILY
from codec.families.grid.config import CONTEXTS, GridConfig
from codec.families.grid.encode import Crop, GridTrainable
from codec.families.grid.net import decoder_macs
from codec.streaminfo import describe_stream
from codec.tools.latentgrid import upsample


def config(**kw) -> GridConfig:
    base = dict(gop=4, levels=4, temporal=2, hidden=8, layers=2, refine=1, context=0, ctx_hidden=8, ctx_layers=2)
    base.update(kw)
    return GridConfig(**base)


def test_level_bias_is_a_trailing_config_field():
    """Streams without the field (written before it) read as False; True is written and read back."""
    plain, biased = config(), config(level_bias=True)
    assert not plain.level_bias and plain.bias_levels == 0 and biased.bias_levels == biased.levels
    assert unpack_config(GridConfig, pack_config(plain)) == plain
    assert unpack_config(GridConfig, pack_config(biased)) == biased
    assert len(pack_config(biased)) == len(pack_config(plain)) + 1


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


@pytest.mark.parametrize("scheme", CONTEXTS)
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
