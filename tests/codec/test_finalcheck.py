"""The encoder's final check (codec/finalcheck.py): when a written file is kept, retried or refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codec import finalcheck
from codec.finalcheck import Check
from codec.metrics import psnr_rgb


def test_a_healthy_file_is_kept():
    assert Check(psnr=32.0, best_train_psnr=32.6, mean_frame_psnr=22.8).verdict() is None
    # low-rate files of low-motion clips lie under the mean frame by a few dB (carphone 32: 3.0)
    assert Check(psnr=23.9, best_train_psnr=24.2, mean_frame_psnr=26.93).verdict() is None
    assert Check(psnr=30.0, best_train_psnr=None, mean_frame_psnr=22.8).verdict() is None


def test_the_white_video_is_refused_on_both_counts():
    why = Check(psnr=10.97, best_train_psnr=32.6, mean_frame_psnr=22.79).verdict()
    assert why is not None and "under the best seen in training" in why
    why = Check(psnr=10.97, best_train_psnr=None, mean_frame_psnr=22.79).verdict()
    assert why is not None and "mean frame (22.79 dB)" in why


@pytest.mark.parametrize("psnr", [math.nan, -math.inf])
def test_a_psnr_that_is_not_a_number_is_refused(psnr):
    assert Check(psnr=psnr, best_train_psnr=30.0, mean_frame_psnr=20.0).verdict() is not None


def test_the_margins_are_where_the_module_says():
    best = 30.0
    assert Check(best - finalcheck.BELOW_BEST_DB + 0.01, best, 0.0).verdict() is None
    assert Check(best - finalcheck.BELOW_BEST_DB - 0.01, best, 0.0).verdict() is not None
    base = 25.0
    assert Check(base - finalcheck.BELOW_MEAN_FRAME_DB + 0.01, None, base).verdict() is None
    assert Check(base - finalcheck.BELOW_MEAN_FRAME_DB - 0.01, None, base).verdict() is not None


def test_mean_frame_psnr_streams_the_clip_in_chunks(monkeypatch):
    monkeypatch.setattr(finalcheck, "CHUNK", 3)  # several chunks and a short last one
    frames = np.random.default_rng(0).integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    mean = np.clip(np.rint(frames.astype(np.float64).mean(axis=0)), 0, 255).astype(np.uint8)
    expected = float(psnr_rgb(frames, np.broadcast_to(mean, frames.shape)).mean())
    assert finalcheck.mean_frame_psnr(lambda first, n: frames[first:first + n], 7) == pytest.approx(expected)
