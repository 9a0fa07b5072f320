"""The one BT.601 limited-range conversion: known values, subsampling, upsampling, agreement with ffmpeg."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec.color import rgb_to_yuv420, upsample_chroma, yuv420_to_rgb
from codec.errors import VideoError
from codec.video import open_video, sample_clip
from codec.video.ffmpeg import ffmpeg_exe


def flat(rgb: tuple[int, int, int], h: int = 4, w: int = 6) -> np.ndarray:
    """A one-colour frame (H, W, 3)."""
    return np.broadcast_to(np.asarray(rgb, np.uint8), (h, w, 3)).copy()


@pytest.mark.parametrize(
    "rgb, yuv",
    [
        ((0, 0, 0), (16, 128, 128)),
        ((255, 255, 255), (235, 128, 128)),
        ((255, 0, 0), (81, 90, 240)),
        ((0, 255, 0), (145, 54, 34)),
        ((0, 0, 255), (41, 240, 110)),
    ],
)
def test_known_bt601_limited_values(rgb, yuv):
    y, u, v = rgb_to_yuv420(flat(rgb))
    assert (int(y[0, 0]), int(u[0, 0]), int(v[0, 0])) == yuv
    assert y.shape == (4, 6) and u.shape == (2, 3) and v.shape == (2, 3)


def test_chroma_is_2x2_average_of_full_resolution_chroma():
    frame = np.zeros((2, 2, 3), np.uint8)
    frame[0, 0] = (255, 0, 0)  # Cb of red: 128 - 37.797 = 90.203; the other three pixels black: 128
    _, u, v = rgb_to_yuv420(frame)
    assert int(u[0, 0]) == int(np.floor((90.203 + 3 * 128) / 4 + 0.5))
    assert int(v[0, 0]) == int(np.floor((240 + 3 * 128) / 4 + 0.5))


def test_bilinear_upsampling_weights():
    plane = np.array([[0, 100]], np.uint8).repeat(2, axis=0)
    up = upsample_chroma(plane)
    assert up.shape == (4, 4)
    np.testing.assert_allclose(up[0], [0, 25, 75, 100])
    np.testing.assert_allclose(up[:, 0], 0)


def test_batches_equal_single_frames():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 8, 10, 3), dtype=np.uint8)
    y, u, v = rgb_to_yuv420(frames)
    for i in range(3):
        yi, ui, vi = rgb_to_yuv420(frames[i])
        assert np.array_equal(yi, y[i]) and np.array_equal(ui, u[i]) and np.array_equal(vi, v[i])
        assert np.array_equal(yuv420_to_rgb(yi, ui, vi), yuv420_to_rgb(y, u, v)[i])


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)))
def test_flat_colours_survive_round_trip(rgb):
    frame = flat(rgb)
    back = yuv420_to_rgb(*rgb_to_yuv420(frame))
    assert back.dtype == np.uint8 and back.shape == frame.shape
    assert np.abs(back.astype(int) - frame).max() <= 2


def test_smooth_image_round_trip_is_close():
    yy, xx = np.mgrid[0:32, 0:48]
    frame = np.stack([xx * 5, yy * 7, (xx + yy) * 3], axis=-1).clip(0, 255).astype(np.uint8)
    back = yuv420_to_rgb(*rgb_to_yuv420(frame))
    assert np.abs(back.astype(int) - frame).mean() < 1.0


@pytest.mark.parametrize("shape", [(5, 6, 3), (2, 4, 7, 3), (1, 1, 3)])
def test_odd_dimensions_have_rounded_up_chroma(shape):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, shape, dtype=np.uint8)
    y, u, v = rgb_to_yuv420(rgb)
    h, w = shape[-3], shape[-2]
    assert y.shape == shape[:-1] and u.shape == v.shape == shape[:-3] + ((h + 1) // 2, (w + 1) // 2)
    assert yuv420_to_rgb(y, u, v).shape == shape
    # the even part of a frame converts as it does alone: the odd edge changes nothing inside it
    even = rgb[..., : h - h % 2, : w - w % 2, :]
    if even.size:
        ye, ue, _ = rgb_to_yuv420(np.ascontiguousarray(even))
        assert np.array_equal(ue, u[..., : ue.shape[-2], : ue.shape[-1]])


def test_bad_inputs_refused():
    with pytest.raises(VideoError):
        rgb_to_yuv420(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(VideoError):
        yuv420_to_rgb(np.zeros((4, 4), np.uint8), np.zeros((2, 3), np.uint8), np.zeros((2, 2), np.uint8))


def test_agrees_with_ffmpeg_bt601():
    path = sample_clip("carphone")
    with open_video(path) as video:
        ours = video.read(0, 3)
    cmd = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-frames:v", "3",
           "-sws_flags", "bicubic+accurate_rnd+full_chroma_int", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"]  # fmt: skip
    theirs = np.frombuffer(subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout, np.uint8)
    diff = ours.astype(int) - theirs.reshape(ours.shape)
    assert np.abs(diff).mean() < 1.0  # only chroma upsampling filters differ
    assert np.abs(diff.mean()) < 0.05  # no bias: same matrix and range
