"""Sweeps: result files, resuming after an interruption or a kill, the CLI's JSON + PNG + Markdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from codec.errors import ConfigError, VideoError
from codec.video.frames import YUVFrames
from eval.cli import main
from eval.inrv import InrvMethod
from eval.measure import PeakMemory, measure
from eval.methods import get_method
from eval.results import load
from eval.sweep import SweepConfig, result_path, run_sweep

REPO = Path(__file__).resolve().parents[2]


def test_cli_sweep_writes_json_png_and_markdown(carphone_small, tmp_path, fake_codec, capsys):
    out = tmp_path / "run"
    code = main(["--files", f"carphone={carphone_small.path}", "--methods", "fake,x265-medium", "--points", "3",
                 "--values", "fake=3,5,7", "--out", str(out), "--no-progress"])
    assert code == 0
    for method in ("fake", "x265-medium"):
        data = json.loads(result_path(out, "folder", "carphone", method).read_text())
        assert data["name"] == method and data["description"]
        results = data["results"]
        assert len(results["bpp"]) == 3 and results["bpp"] == sorted(results["bpp"])
        for key in ("psnr-rgb", "psnr-yuv", "ms-ssim", "encode-s", "decode-s", "decode-fps", "encode-peak-mb"):
            assert len(results[key]) == 3 and all(v is not None for v in results[key]), key
        assert len(data["settings"]) == 3
    fake = json.loads(result_path(out, "folder", "carphone", "fake").read_text())
    assert [s["quality"] for s in fake["settings"]] == [3, 5, 7]
    assert fake["results"]["psnr-rgb"] == sorted(fake["results"]["psnr-rgb"])
    x265 = json.loads(result_path(out, "folder", "carphone", "x265-medium").read_text())
    assert x265["method"]["preset"] == "medium" and [s["crf"] for s in x265["settings"]] == [44, 32, 20]
    averaged = json.loads((out / "results" / "folder" / "fake.json").read_text())
    assert averaged["results"]["bpp"] == fake["results"]["bpp"] and averaged["sequences"] == ["carphone"]
    for png in ("carphone.png", "average.png"):
        assert (out / "plots" / "folder" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "BD-rate vs x265-medium" in report and "| fake |" in report
    assert "plots/folder/carphone.png" in report and "results/folder/carphone/fake.json" in report
    printed = capsys.readouterr().out
    assert "BD-rate vs x265-medium" in printed and "report:" in printed


def test_interrupted_sweep_resumes_without_redoing_points(carphone_small, tmp_path, fake_codec):
    carphone, fake = carphone_small, fake_codec
    fake.interrupt_at = 2
    config = SweepConfig(out=tmp_path, dataset="folder", values={"fake": ("2", "4", "6")}, progress=False)
    methods = [InrvMethod("fake"), get_method("x265-medium")]
    with pytest.raises(KeyboardInterrupt):
        run_sweep([carphone], methods, config)
    path = result_path(tmp_path, "folder", "carphone", "fake")
    first = load(path)
    assert [p.key for p in first.points] == ["quality=2"] and fake.calls == [2, 4]
    fake.interrupt_at = None
    outcome = run_sweep([carphone], methods, config)
    assert fake.calls == [2, 4, 4, 6]  # quality 2 was not encoded again
    assert (outcome.ran, outcome.reused) == (6, 1)
    final = load(path)
    assert [p.key for p in final.points] == ["quality=2", "quality=4", "quality=6"]
    assert final.points[0] == first.points[0]
    again = run_sweep([carphone], methods, config)
    assert (again.ran, again.reused) == (0, 7) and fake.calls == [2, 4, 4, 6]


def test_resume_refuses_results_made_differently(carphone_small, tmp_path, fake_codec):
    carphone = carphone_small
    config = SweepConfig(out=tmp_path, dataset="folder", values={"fake": ("3",)}, progress=False)
    run_sweep([carphone], [InrvMethod("fake", steps=5)], config)
    with pytest.raises(ConfigError, match="other settings"):
        run_sweep([carphone], [InrvMethod("fake", steps=6)], config)
    redo = SweepConfig(out=tmp_path, dataset="folder", values={"fake": ("3",)}, progress=False, overwrite=True)
    assert run_sweep([carphone], [InrvMethod("fake", steps=6)], redo).ran == 1


@pytest.mark.slow
def test_killed_cli_resumes(carphone, tmp_path):
    """SIGKILL after the first point's JSON: the file is whole, and the rerun only does the rest.
    (Slow: two interpreter starts with torch; the in-process interruption test runs by default.)"""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "eval.cli", "--files", f"carphone={carphone.path}", "--methods", "vvenc",
           "--values", "vvenc=47,37,27,22", "--out", str(out), "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = result_path(out, "folder", "carphone", "vvenc")
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [p.key for p in load(path).points]
    assert 1 <= len(done) < 4
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"points run / reused | {4 - len(done)} / {len(done)}" in (out / "report.md").read_text()
    assert len(load(path).points) == 4


def test_measure_checks_frame_counts_and_regroups(carphone_small):
    planes = list(carphone_small.yuv_chunks(3))
    perfect = measure(carphone_small, iter(planes), chunk=2)
    assert perfect.psnr_rgb == 100.0 and perfect.psnr_yuv == 100.0 and perfect.num_frames == 4
    rgb = [p.to_rgb() for p in planes]
    assert measure(carphone_small, iter(rgb), chunk=4).psnr_rgb == 100.0
    with pytest.raises(VideoError, match="ends early"):
        measure(carphone_small, iter(planes[:1]))
    extra = YUVFrames.concatenate([planes[0], planes[0]])
    with pytest.raises(VideoError, match="more frames"):
        measure(carphone_small, iter([extra]))


def test_peak_memory_is_per_block_and_per_process(tmp_path):
    from eval import ffmpeg

    with PeakMemory() as small:
        pass
    with PeakMemory() as big:
        block = np.ones(300 * 2**20, np.uint8)
        del block
    assert big.peak_mb - small.peak_mb > 250
    hold = np.ones(400 * 2**20, np.uint8)  # the parent's size must not leak into ffmpeg's figure
    run = ffmpeg.run(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=25", "-frames:v", "25", "-f", "null", "-"],
                     what="test")
    assert 1 < run.peak_mb < 300 and hold[0] == 1
