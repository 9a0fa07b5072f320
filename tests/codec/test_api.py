"""End-to-end behaviour of codec.encode / decode / open for the NeRV and HNeRV families."""

from __future__ import annotations

import numpy as np
import pytest

import codec
from bitstream import BitstreamError
from codec.config import EncodeConfig
from codec.errors import ConfigError, VideoError
from codec.metrics import psnr_rgb
from codec.video import open_video

FAMILIES = ["nerv", "hnerv"]


def _cfg(model: str, **kw) -> EncodeConfig:
    kw.setdefault("steps", 40)
    kw.setdefault("preset", "xs")
    return EncodeConfig.of(model=model, device="cpu", progress=False, **kw)


@pytest.fixture(scope="module", params=FAMILIES)
def encoded(request, tmp_path_factory, carphone_y4m):
    out = tmp_path_factory.mktemp("enc") / f"{request.param}.inrv"
    return codec.encode(carphone_y4m, out, _cfg(request.param)), carphone_y4m


def test_round_trip_geometry_rate_and_quality_from_disk(encoded, tmp_path):
    result, src = encoded
    decoded_path = tmp_path / "out.mkv"  # lossless FFV1: the exact decoded RGB
    codec.decode(result.path, decoded_path, device="cpu")
    with open_video(decoded_path) as dec, open_video(src) as ref:
        decoded = dec.read()
        reference = ref.read()
    assert decoded.shape == reference.shape == (6, 144, 176, 3)
    # bpp is the file's size; PSNR is that of frames read back from disk
    size = result.path.stat().st_size
    assert result.file_bytes == size
    assert result.bpp == pytest.approx(size * 8 / (176 * 144 * 6))
    assert result.psnr_rgb == pytest.approx(float(psnr_rgb(reference, decoded).mean()), abs=1e-6)
    flat = float(psnr_rgb(reference, np.full_like(reference, 128)).mean())
    assert result.psnr_rgb > flat + 0.3  # learned more than a flat grey frame
    # the training's work: every step renders at least one frame and at most the whole clip
    assert result.steps <= result.frame_passes <= result.steps * result.num_frames
    assert result.groups == ()  # a whole-video family has no groups


def test_lossless_output_equals_open_frames(encoded, tmp_path):
    result, _ = encoded
    mkv = tmp_path / "out.mkv"
    codec.decode(result.path, mkv, device="cpu")
    with open_video(mkv) as video, codec.open(result.path, device="cpu") as coded:
        assert np.array_equal(video.read(), np.stack(list(coded.frames())))


def test_range_decode_equals_full_decode(encoded, tmp_path):
    result, _ = encoded
    with codec.open(result.path, device="cpu") as coded:
        full = np.stack(list(coded.frames()))
        part = np.stack(list(coded.frames(2, 5)))
    assert np.array_equal(part, full[2:5])
    r = codec.decode(result.path, tmp_path / "part.mkv", start=3, count=2, device="cpu")
    assert (r.first_frame, r.num_frames) == (3, 2)
    with open_video(tmp_path / "part.mkv") as video:
        assert np.array_equal(video.read(), full[3:5])


def test_info_reports_every_byte(encoded):
    result, _ = encoded
    with codec.open(result.path) as coded:
        info = coded.info
    assert info.model == result.model
    assert (info.width, info.height, info.num_frames) == (176, 144, 6)
    assert info.header_bytes + sum(info.chunk_bytes) == info.file_bytes == result.file_bytes
    assert info.bpp == pytest.approx(result.bpp)


def test_odd_geometry_is_not_cropped(odd_png_dir, tmp_path):
    result = codec.encode(odd_png_dir, tmp_path / "odd.inrv", _cfg("hnerv", steps=5))
    assert (result.width, result.height, result.num_frames) == (45, 33, 3)
    with codec.open(result.path, device="cpu") as coded:
        frames = np.stack(list(coded.frames()))
    assert frames.shape == (3, 33, 45, 3)
    assert np.isnan(result.psnr_yuv)  # no 4:2:0 form of an odd-sized frame


def test_frame_range_and_time_budget(carphone_y4m, tmp_path):
    result = codec.encode(
        carphone_y4m, tmp_path / "r.inrv", _cfg("nerv", steps=None, time_budget=1.0, start=2, count=3)
    )
    assert result.num_frames == 3
    assert result.steps >= 1
    assert result.encode_seconds < 30


def test_same_seed_same_stream(carphone_y4m, tmp_path):
    a = codec.encode(carphone_y4m, tmp_path / "a.inrv", _cfg("nerv", steps=5, count=2))
    b = codec.encode(carphone_y4m, tmp_path / "b.inrv", _cfg("nerv", steps=5, count=2))
    assert a.path.read_bytes() == b.path.read_bytes()


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


def test_damaged_stream_is_a_bitstream_error(encoded, tmp_path):
    result, _ = encoded
    data = bytearray(result.path.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged = tmp_path / "damaged.inrv"
    damaged.write_bytes(bytes(data))
    with pytest.raises(BitstreamError):
        with codec.open(damaged, device="cpu") as coded:
            list(coded.frames())
    out = tmp_path / "out.y4m"
    with pytest.raises(BitstreamError):
        codec.decode(damaged, out, device="cpu")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["damaged.inrv"]
