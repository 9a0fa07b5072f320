"""End-to-end behaviour of codec.encode / decode / open beyond the family contract
(tests/codec/test_contract.py): geometry, frame ranges, time budgets, options, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import codec
from codec.config import EncodeConfig
from codec.errors import ConfigError, VideoError

def _cfg(model: str, **kw) -> EncodeConfig:
    kw.setdefault("steps", 40)
    kw.setdefault("preset", "xs")
    return EncodeConfig.of(model=model, device="cpu", progress=False, **kw)


def test_odd_geometry_is_not_cropped(odd_png_dir, tmp_path):
    result = codec.encode(odd_png_dir, tmp_path / "odd.inrv", _cfg("hnerv", steps=5))
    assert (result.width, result.height, result.num_frames) == (45, 33, 3)
    with codec.open(result.path, device="cpu") as coded:
        frames = np.stack(list(coded.frames()))
    assert frames.shape == (3, 33, 45, 3)
    assert np.isfinite(result.psnr_yuv)  # 4:2:0 of an odd size: chroma ceil(W/2) x ceil(H/2)


def test_frame_range_and_time_budget(carphone_y4m, tmp_path):
    result = codec.encode(
        carphone_y4m, tmp_path / "r.inrv", _cfg("nerv", steps=None, time_budget=1.0, start=2, count=3)
    )
    assert result.num_frames == 3
    assert result.steps >= 1
    assert result.encode_seconds < 30


@pytest.mark.parametrize(
    "kw",
    [dict(quality=9), dict(lmbda=-1.0), dict(steps=0), dict(count=0), dict(time_budget=0.0)],
)
def test_impossible_options_are_config_errors(kw):
    with pytest.raises(ConfigError):
        _cfg("nerv", **kw)


@pytest.mark.parametrize("model, kw, flag", [
    ("nerv", dict(gop=8), "--gop"), ("hnerv", dict(patch=16), "--patch"),
    ("nerv", dict(scene_cut=10.0), "--scene-cut"), ("nirvana", dict(post_quant_bits=8), "--post-quant"),
])
def test_options_of_other_families_are_config_errors(tmp_path, carphone_y4m, model, kw, flag):
    out = tmp_path / "x.inrv"
    with pytest.raises(ConfigError, match=f"{flag} does not apply to --model {model}") as info:
        codec.encode(carphone_y4m, out, _cfg(model, **kw))
    assert ("only to nirvana" in str(info.value)) == (model != "nirvana")
    assert not out.exists()


def test_bad_inputs_leave_no_output(tmp_path, carphone_y4m):
    out = tmp_path / "x.inrv"
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError):
        codec.encode(garbage, out, _cfg("nerv"))
    with pytest.raises(VideoError):
        codec.encode(tmp_path / "missing.mp4", out, _cfg("nerv"))
    with pytest.raises(ConfigError):
        codec.encode(carphone_y4m, out, _cfg("nerv", start=10))
    with pytest.raises(ConfigError):
        codec.encode(carphone_y4m, out, _cfg("nosuchmodel"))
    with pytest.raises(ConfigError):
        codec.encode(carphone_y4m, out, _cfg("nerv", preset="huge"))
    assert list(tmp_path.iterdir()) == [garbage]
