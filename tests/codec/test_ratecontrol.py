"""Rate control (codec.ratecontrol): --target-bpp / --target-psnr over a family's quality ladder."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import codec
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.ratecontrol import final_level, next_level, probe_range
from codec.registry import get_family
from codec.results import Probe, RateControlResult
from codec.video import write_video


def _probes(curve, levels):
    """Probes on a made-up clip whose log-bpp is ``curve(q)`` (PSNR 20 + 2 q)."""
    return [Probe(q, 8, math.exp(curve(q)), 20 + 2 * q, 1.0) for q in levels]


def line(q):
    return -4 + 0.4 * q


def test_a_bracketed_target_is_interpolated():
    probes = _probes(line, [2, 6])
    goal = math.exp(line(4.25))
    q = next_level(probes, "bpp", goal, 8)
    assert q == pytest.approx(4.25)
    assert final_level(probes, "bpp", goal, 8) == (pytest.approx(4.25), False)
    assert final_level(probes, "psnr", 27.0, 8) == (pytest.approx(3.5), False)


def test_an_unbracketed_target_steps_toward_it_and_ends_at_the_ladder():
    probes = _probes(line, [4.5])
    assert next_level(probes, "bpp", math.exp(line(8)) * 3, 8) == pytest.approx(7.0)  # 2.5 levels up
    probes = _probes(line, [4.5, 7.0])
    assert next_level(probes, "bpp", math.exp(line(12)), 8) == 8.0  # the slope says 12: clamped
    probes = _probes(line, [7.0, 8.0])
    assert next_level(probes, "bpp", math.exp(line(12)), 8) is None  # nothing left above
    assert final_level(probes, "bpp", math.exp(line(12)), 8) == (8.0, True)
    probes = _probes(line, [1.0, 2.0])
    assert final_level(probes, "psnr", 15.0, 8) == (1.0, True)


def test_probes_fit_a_middle_part_of_the_clip():
    enc = EncodeConfig.of(model="nerv", target_bpp=0.1)
    assert probe_range(get_family("nerv"), enc, 0, 64) == (24, 16)
    assert probe_range(get_family("nerv"), enc, 10, 6) == (10, 6)  # short clips: all of it
    enc = EncodeConfig.of(model="nirvana", target_bpp=0.1, gop=4)
    assert probe_range(get_family("nirvana"), enc, 0, 64) == (28, 8)  # two groups


@pytest.mark.parametrize("kw", [dict(lmbda=1e-3), dict(density=0.1), dict(preset="s"), dict(steps=100),
                                dict(target_psnr=30.0)])
def test_a_target_chooses_size_lambda_and_length_itself(kw):
    with pytest.raises(ConfigError, match="--target-bpp"):
        EncodeConfig.of(model="hnerv", target_bpp=0.1, **kw)


def test_a_target_is_refused_with_a_quality_and_by_families_without_a_ladder(tmp_path, carphone_y4m):
    with pytest.raises(ConfigError, match="--quality"):
        codec.encode(carphone_y4m, tmp_path / "x.inrv", EncodeConfig.of(model="nerv", quality=3, target_psnr=30.0))
    assert not (tmp_path / "x.inrv").exists()
    with pytest.raises(ConfigError, match="--target-bpp does not apply to --model teconerv"):
        EncodeConfig.of(model="teconerv", target_bpp=0.1)
    out = subprocess.run([sys.executable, "-m", "codec.cli", "encode", str(carphone_y4m), "-o",
                          str(tmp_path / "y.inrv"), "--target-bpp", "0.1", "--quality", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "not allowed with argument" in out.stderr and "Traceback" not in out.stderr


def test_rate_control_encodes_at_the_chosen_level_and_reports_the_file(tmp_path):
    """A tiny clip (probes on all of it): the full fit runs at the chosen level's explicit
    parameters and the result says what the file hit, measured from the file."""
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (1, 24, 32, 3)).astype(np.float32)
    frames = np.clip(base + rng.normal(0, 3, (4, 24, 32, 3)), 0, 255).astype(np.uint8)
    src = tmp_path / "c.y4m"
    write_video(src, frames, fps=25)
    r = codec.encode(src, tmp_path / "rc.inrv", EncodeConfig.of(model="nirvana", threads=1, progress=False,
                                                                  gop=2, patch=8, target_bpp=1.0))
    rc = r.rate_control
    assert isinstance(rc, RateControlResult) and rc.target == "bpp" and rc.value == 1.0
    assert 1 <= len(rc.probes) <= 4 and all(p.frames == 4 for p in rc.probes)
    assert rc.hit == pytest.approx(r.bpp)
    assert rc.hit == pytest.approx((tmp_path / "rc.inrv").stat().st_size * 8 / (4 * 24 * 32))
    assert 1.0 <= rc.quality <= 8.0 and 1 <= len(rc.passes) <= 3
    assert r.lmbda == pytest.approx(get_family("nirvana").ladder.at(rc.quality).lmbda)
    # the file is the full fit closest to the target, and nothing else is left beside it
    assert rc.hit == min((p.bpp for p in rc.passes), key=lambda b: abs(math.log(b)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.y4m", "rc.inrv"]
    assert "rate control: target 1 bpp" in rc.text()


def test_full_fits_correct_probes_that_sit_off_the_curve(tmp_path, monkeypatch):
    """Probes (fewer frames) measure 4 dB under the full fit: they place a 30 dB target beyond the
    ladder's top, the first full fit there overshoots, and the next full fits come back to the
    target instead of stopping at the end (a fake encoder: PSNR from the lambda alone)."""
    import codec.encoder
    from codec.ratecontrol import FULL_TOLERANCE, encode_to_target
    from codec.results import EncodeResult

    src = tmp_path / "c.y4m"
    src.write_bytes(b"")

    def fake(s, dst, config):
        o = config.options
        psnr = 12 - 2.5 * math.log(o.lmbda) - (4.0 if (config.count or 64) < 64 else 0.0)
        dst.write_bytes(b"x")
        return EncodeResult(dst, "nerv", 32, 32, config.count, 1, o.density, psnr, psnr, 1.0, 0.1, o.steps,
                            o.density, o.lmbda, 1, 1.0)

    monkeypatch.setattr(codec.encoder, "encode_once", fake)
    r = encode_to_target(src, tmp_path / "out.inrv", EncodeConfig.of(model="nerv", target_psnr=30.0), 0, 64)
    rc = r.rate_control
    assert rc.passes[0].quality == 8.0 and rc.passes[0].psnr > 30.5  # where the biased probes pointed
    assert abs(rc.hit - 30.0) <= FULL_TOLERANCE["psnr"] and not rc.clamped and rc.quality < 8
    assert r.path == tmp_path / "out.inrv" and sorted(p.name for p in tmp_path.iterdir()) == ["c.y4m", "out.inrv"]
