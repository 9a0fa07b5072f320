"""Metrics against scikit-image, hand-computed values and pytorch-msssim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim
from skimage.metrics import peak_signal_noise_ratio

from codec.errors import VideoError
from codec.video import YUVFrames
from eval import metrics
from eval.metrics import (
    PSNR_CAP,
    QualityAccumulator,
    bpp,
    file_bpp,
    ms_ssim,
    ms_ssim_weights,
    mse,
    psnr_rgb,
    psnr_yuv420,
)

PSNR_MSE_1 = 10 * math.log10(255**2)  # 48.1308...


def noisy(frames: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(frames + rng.normal(0, sigma, frames.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:64]
    base = np.stack([xx * 4, yy * 5, (xx * yy) % 256], axis=-1)
    return np.stack([(base + 9 * i) % 256 for i in range(4)]).astype(np.uint8)


def test_psnr_rgb_matches_scikit_image(frames):
    dec = noisy(frames, 6)
    ours = psnr_rgb(frames, dec)
    theirs = [peak_signal_noise_ratio(r, d, data_range=255) for r, d in zip(frames, dec)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert psnr_rgb(frames[0], dec[0]).shape == (1,)


def test_hand_computed_values():
    ref = np.zeros((2, 4, 4, 3), np.uint8)
    dec = ref.copy()
    dec[0] += 1  # MSE 1
    dec[1, 0, 0, 0] = 4  # MSE 16 / 48
    np.testing.assert_allclose(mse(ref, dec), [1.0, 16 / 48])
    np.testing.assert_allclose(psnr_rgb(ref, dec), [PSNR_MSE_1, 10 * math.log10(255**2 * 3)])


def test_identical_frames_are_capped(frames):
    assert np.all(psnr_rgb(frames, frames) == PSNR_CAP)


def test_psnr_yuv420_weights_plane_psnrs():
    y = np.zeros((1, 4, 4), np.uint8)
    u = np.zeros((1, 2, 2), np.uint8)
    ref = YUVFrames(y, u, u.copy())
    dec = YUVFrames(y + 1, u + 2, u.copy())  # Y: MSE 1, U: MSE 4, V: identical (capped)
    expected = (6 * PSNR_MSE_1 + 10 * math.log10(255**2 / 4) + PSNR_CAP) / 8
    np.testing.assert_allclose(psnr_yuv420(ref, dec), [expected])
    np.testing.assert_allclose(psnr_yuv420((ref.y, ref.u, ref.v), (dec.y, dec.u, dec.v)), [expected])


def test_bpp():
    assert bpp(1000, 10, 10, 8) == 10.0
    with pytest.raises(VideoError):
        bpp(10, 0, 10, 1)


def test_file_bpp(tmp_path):
    path = tmp_path / "stream.inrv"
    path.write_bytes(b"x" * 300)
    assert file_bpp(path, 20, 10, 3) == 300 * 8 / 600
    with pytest.raises(VideoError):
        file_bpp(tmp_path / "missing", 20, 10, 3)


def test_shape_mismatch_refused(frames):
    with pytest.raises(VideoError):
        psnr_rgb(frames, frames[:2])


def test_accumulator_streams_chunks(frames):
    dec = noisy(frames, 4)
    acc = QualityAccumulator()
    for i in range(0, 4, 3):
        acc.update(frames[i : i + 3], dec[i : i + 3])
    quality = acc.result()
    per_frame = psnr_rgb(frames, dec)
    assert quality.num_frames == 4 and quality.ms_ssim is None
    np.testing.assert_allclose(quality.per_frame_psnr, per_frame)
    assert quality.psnr_rgb == pytest.approx(per_frame.mean())
    expected_yuv = psnr_yuv420(YUVFrames.from_rgb(frames), YUVFrames.from_rgb(dec)).mean()
    assert quality.psnr_yuv == pytest.approx(expected_yuv)


def test_accumulator_uses_given_planes_and_ms_ssim(frames):
    ref_yuv = YUVFrames.from_rgb(frames)
    acc = QualityAccumulator(ms_ssim=ms_ssim)
    acc.update(frames, frames, ref_yuv, ref_yuv)
    quality = acc.result()
    assert quality.psnr_yuv == PSNR_CAP and quality.ms_ssim == pytest.approx(1.0)
    with pytest.raises(VideoError):
        QualityAccumulator().result()


def test_ms_ssim_identical_is_one_and_falls_with_noise(frames):
    np.testing.assert_allclose(ms_ssim(frames, frames), 1.0, atol=1e-6)
    scores = [ms_ssim(frames, noisy(frames, sigma)).mean() for sigma in (3, 15, 40)]
    assert 1.0 > scores[0] > scores[1] > scores[2]


def test_ms_ssim_matches_pytorch_msssim_at_full_size():
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 256, (2, 168, 176, 3), dtype=np.uint8)
    dec = noisy(ref, 20)
    ours = ms_ssim(ref, dec)
    to_tensor = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float()  # noqa: E731
    theirs = reference_ms_ssim(to_tensor(ref), to_tensor(dec), data_range=255, size_average=False).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_ms_ssim_scales_for_small_frames():
    assert ms_ssim_weights(1080, 1920) == metrics.MS_SSIM_WEIGHTS
    small = ms_ssim_weights(144, 176)
    assert len(small) == 4 and sum(small) == pytest.approx(1.0)
    assert len(ms_ssim_weights(20, 40)) == 1
    with pytest.raises(VideoError):
        ms_ssim_weights(10, 64)


def test_reexports_codec_metrics():
    from codec import metrics as codec_metrics

    assert metrics.psnr_rgb is codec_metrics.psnr_rgb and metrics.Quality is codec_metrics.Quality
