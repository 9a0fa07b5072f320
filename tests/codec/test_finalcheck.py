"""The encoder's final check (codec/finalcheck.py, codec/encoder.py): a written file that decodes far
under the best PSNR seen in training is encoded once more, and refused with one error and no file
when the retry is refused too; rate control records such fits as failed points."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import codec
from codec import encoder, finalcheck
from codec.config import EncodeConfig
from codec.errors import EncodeRejected, InrvError
from codec.finalcheck import Check, best_of
from codec.metrics import psnr_rgb
from codec.registry import get_family


def test_a_healthy_file_is_kept():
    assert Check(psnr=30.18, best_train_psnr=30.63).verdict() is None
    assert Check(psnr=19.5, best_train_psnr=None).verdict() is None  # teconerv: nothing to compare


def test_the_white_video_is_refused():
    why = Check(psnr=10.97, best_train_psnr=32.6).verdict()
    assert why == "it decodes to 10.97 dB, 21.6 dB under the best seen in training (32.60 dB)"


@pytest.mark.parametrize("psnr", [math.nan, -math.inf])
def test_a_psnr_that_is_not_a_number_is_refused(psnr):
    assert Check(psnr=psnr, best_train_psnr=30.0).verdict() is not None


def test_the_margin_is_where_the_module_says():
    best = 30.0
    assert Check(best - finalcheck.BELOW_BEST_DB + 0.01, best).verdict() is None
    assert Check(best - finalcheck.BELOW_BEST_DB - 0.01, best).verdict() is not None


def test_best_of_takes_the_highest_finite_training_psnr():
    assert best_of(None, 21.0) == 21.0 and best_of(25.0, 21.0) == 25.0
    assert best_of(math.nan, None) is None


def test_mean_frame_psnr_streams_the_clip_in_chunks(monkeypatch):
    monkeypatch.setattr(finalcheck, "CHUNK", 3)  # several chunks and a short last one
    frames = np.random.default_rng(0).integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    mean = np.clip(np.rint(frames.astype(np.float64).mean(axis=0)), 0, 255).astype(np.uint8)
    expected = float(psnr_rgb(frames, np.broadcast_to(mean, frames.shape)).mean())
    assert finalcheck.mean_frame_psnr(lambda first, n: frames[first:first + n], 7) == pytest.approx(expected)


# --- the check in the encoder: a test double whose decoder renders white frames --------------


class _White:
    """A decoder that renders frames of 255 (the collapsed hnerv's output)."""

    def __init__(self, shape):
        self.shape = shape

    def render(self, start, stop):
        yield np.full((stop - start, *self.shape, 3), 255, np.uint8)


@pytest.fixture
def collapsing(monkeypatch):
    """nerv's decoder renders white frames for the seeds in ``white`` (a list the test fills)."""
    family = get_family("nerv")
    real = type(family).decoder
    white: set[int] = set()
    seeds: list[int] = []
    encode = type(family).encode

    def remember_seed(self, config, source, enc, sink, device):
        seeds.append(enc.seed)
        return encode(self, config, source, enc, sink, device)

    def decoder(self, config, geometry, stream, device):
        if seeds and seeds[-1] in white:
            return _White((geometry.height, geometry.width))
        return real(self, config, geometry, stream, device)

    monkeypatch.setattr(type(family), "encode", remember_seed)
    monkeypatch.setattr(type(family), "decoder", decoder)
    return white, seeds


def _config(**options) -> EncodeConfig:
    return EncodeConfig.of(model="nerv", preset="xs", steps=30, threads=1, progress=False, **options)


def test_a_collapsed_file_is_retried_then_refused_and_no_file_is_left(carphone_y4m, tmp_path, collapsing):
    white, seeds = collapsing
    white.update({0, 1})
    out = tmp_path / "x.inrv"
    with pytest.raises(EncodeRejected, match=r"nerv refused its file: it decodes to \S+ dB, .* under the best "
                                             r"seen in training .*again with seed 1: .*mean frame scores"):
        codec.encode(carphone_y4m, out, _config())
    assert seeds == [0, 1] and not out.exists()
    assert issubclass(EncodeRejected, InrvError)


def test_a_retry_that_is_kept_says_so(carphone_y4m, tmp_path, collapsing):
    white, seeds = collapsing
    white.add(0)
    result = codec.encode(carphone_y4m, tmp_path / "x.inrv", _config())
    assert seeds == [0, 1] and result.retries == 1 and result.path.exists()
    assert result.psnr_rgb > result.best_train_psnr - finalcheck.BELOW_BEST_DB


def test_a_healthy_encode_is_measured_once_and_reports_its_training(carphone_y4m, tmp_path, collapsing):
    _, seeds = collapsing
    result = codec.encode(carphone_y4m, tmp_path / "x.inrv", _config())
    assert seeds == [0] and result.retries == 0
    assert result.best_train_psnr is not None and result.train_psnr is not None and result.restarts >= 0


def test_the_cli_ends_with_one_line_and_no_file(carphone_y4m, tmp_path, collapsing, capsys):
    from codec.cli import main

    collapsing[0].update({0, 1})
    out = tmp_path / "x.inrv"
    code = main(["encode", str(carphone_y4m), "-o", str(out), "--model", "nerv", "--preset", "xs",
                 "--steps", "30", "--threads", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not out.exists()
    assert len(err) == 1 and "refused its file" in err[0]


# --- rate control: a refused fit is a failed point, not a rate point --------------------------


def test_rate_control_skips_a_refused_probe_and_keeps_searching(tmp_path, monkeypatch):
    from codec import ratecontrol

    calls = []

    def fake_once(src, dst, enc):
        level = len(calls)
        calls.append(enc.options.lmbda)
        if level == 0:  # the first probe's file is refused
            raise EncodeRejected("nerv refused its file: it decodes to 11.00 dB")
        dst.write_bytes(b"x")
        bpp = 0.05 * (level + 1)
        return _fake_result(dst, bpp, 25.0 + level)

    monkeypatch.setattr(encoder, "encode_once", fake_once)
    family = ratecontrol.laddered("nerv")
    enc = EncodeConfig.of(model="nerv", target_bpp=0.1, threads=1, progress=False)
    probes = ratecontrol.search(tmp_path / "src.y4m", enc, family, 0, 8, tmp_path)
    assert probes[0].failed and math.isnan(probes[0].bpp)
    assert len(probes) > 1 and all(p.failed is None for p in probes[1:])
    assert ratecontrol.measured(probes) == probes[1:]
    # a level already tried (here: refused) is not tried again
    assert ratecontrol.next_level(probes[:1], "bpp", 0.1, family.ladder.top) is None


def test_rate_control_refuses_when_no_fit_is_kept(carphone_y4m, tmp_path, monkeypatch):
    def refuse(src, dst, enc):
        raise EncodeRejected("nerv refused its file: it decodes to 11.00 dB")

    monkeypatch.setattr(encoder, "encode_once", refuse)
    out = tmp_path / "rc.inrv"
    with pytest.raises(EncodeRejected, match="rate control: every probe fit was refused"):
        codec.encode(carphone_y4m, out, EncodeConfig.of(model="nerv", target_bpp=0.1, threads=1, progress=False))
    assert not out.exists() and list(tmp_path.glob(".inrv-rate-*")) == []


def _fake_result(dst, bpp: float, psnr: float):
    from codec.results import EncodeResult

    return EncodeResult(path=dst, model="nerv", width=176, height=144, num_frames=8, file_bytes=1, bpp=bpp,
                        psnr_rgb=psnr, psnr_yuv=psnr, encode_seconds=0.0, decode_seconds=0.0, steps=1,
                        estimated_bpp=bpp, lmbda=1e-3, threads=1, frame_passes=1.0)


def test_results_keep_their_old_positional_shape():
    r = _fake_result(None, 0.1, 30.0)
    assert replace(r, retries=1).retries == 1 and r.restarts == 0 and r.best_train_psnr is None
