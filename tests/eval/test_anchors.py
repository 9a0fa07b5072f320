"""Anchors: every configuration encodes and decodes; rates are elementary-stream bytes; the harness'
YUV PSNR agrees with ffmpeg's own psnr filter."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from codec.errors import ConfigError
from codec.video.ffmpeg import ffmpeg_exe
from codec.video.frames import YUVFrames
from eval.anchors import ANCHOR_SPECS, FfmpegAnchor
from eval.base import Setting
from eval.metrics import psnr_yuv420
from eval.methods import get_method, get_methods
from eval.sweep import run_point


@pytest.mark.parametrize("name", sorted(ANCHOR_SPECS))
def test_every_anchor_round_trips(name, carphone_small, tmp_path):
    anchor = get_method(name)
    setting = anchor.settings(3)[1]
    encoded = anchor.encode(carphone_small, setting, tmp_path)
    assert encoded.num_bytes == encoded.path.stat().st_size > 0
    assert encoded.path.suffix == ANCHOR_SPECS[name].suffix
    decoded = anchor.decode(encoded, carphone_small, tmp_path)
    assert decoded.num_frames == 4 and decoded.seconds > 0
    blocks = list(anchor.frames(encoded, carphone_small, 3))
    assert [len(b) for b in blocks] == [3, 1]
    reference = YUVFrames.concatenate(list(carphone_small.yuv_chunks()))
    assert 25 < psnr_yuv420(reference, YUVFrames.concatenate(blocks)).mean() < 60


def test_informational_sei_is_not_counted(carphone_small, tmp_path):
    for name, marker in (("x264-medium", b"x264 - core"), ("x265-medium", b"x265 (build")):
        anchor = get_method(name)
        encoded = anchor.encode(carphone_small, Setting("crf", 30), tmp_path)
        assert marker not in encoded.path.read_bytes()


def test_settings_and_values():
    x265 = get_method("x265")
    assert x265.name == "x265-medium"
    assert [s.key for s in x265.settings(4)] == ["crf=44", "crf=36", "crf=28", "crf=20"]
    assert x265.parse_setting("27") == Setting("crf", 27.0)
    with pytest.raises(ConfigError):
        x265.parse_setting("70")
    with pytest.raises(ConfigError):
        get_method("x266")
    assert [m.name for m in get_methods("x264,x264-medium,vvenc")] == ["x264-medium", "vvenc"]
    describe = get_method("x264-veryslow-ld").describe()
    assert describe["preset"] == "veryslow" and "no B-frames" in describe["gop"] and "-bf" in describe["options"]


def _ffmpeg_psnr_yuv(ref, dist) -> float:
    """Mean over frames of (6 Y + U + V) / 8 from the per-frame log of ffmpeg's psnr filter."""
    graph = "[0:v]settb=1/25,setpts=N[d];[1:v]settb=1/25,setpts=N[r];[d][r]psnr=stats_file=-"
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(dist), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    frames = re.findall(r"psnr_y:([\d.]+) psnr_u:([\d.]+) psnr_v:([\d.]+)", out.stdout)
    values = np.array(frames, dtype=np.float64)
    return float(np.mean((6 * values[:, 0] + values[:, 1] + values[:, 2]) / 8)), len(values)


def test_yuv_psnr_matches_ffmpeg_psnr_filter(carphone, tmp_path):
    anchor = FfmpegAnchor(ANCHOR_SPECS["x265-medium"])
    point = run_point(anchor, carphone, Setting("crf", 32), tmp_path, keep=True)
    stream = tmp_path / "x265-medium_crf32.265"
    reference, frames = _ffmpeg_psnr_yuv(carphone.path, stream)
    assert frames == carphone.num_frames
    assert abs(point.psnr_yuv - reference) < 0.05
    assert point.num_bytes == stream.stat().st_size
    assert point.bpp == pytest.approx(point.num_bytes * 8 / (176 * 144 * 8))
