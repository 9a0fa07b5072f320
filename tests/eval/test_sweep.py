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
from codec.registry import family_names
from eval.cli import main
from eval.inrv import InrvMethod
from eval.measure import PeakMemory, measure
from eval.methods import get_method
from eval.results import load
from eval.sweep import SweepConfig, result_path, run_sweep

REPO = Path(__file__).resolve().parents[2]


def _check_result_file(path: Path, method: str, points: int) -> dict:
    data = json.loads(path.read_text())
    assert data["name"] == method and data["description"]
    results = data["results"]
    assert len(results["bpp"]) == points and results["bpp"] == sorted(results["bpp"])
    for key in ("psnr-rgb", "psnr-yuv", "ms-ssim", "encode-s", "decode-s", "decode-fps", "encode-peak-mb", "bytes"):
        assert len(results[key]) == points and all(v is not None for v in results[key]), key
    assert len(data["settings"]) == points
    return data


def test_cli_sweep_with_a_real_family_writes_json_png_and_markdown(carphone_small, tmp_path, capsys):
    family = family_names()[0]
    out = tmp_path / "run"
    code = main(["--files", f"carphone={carphone_small.path}", "--methods", f"{family},x265-medium", "--points", "2",
                 "--values", f"{family}=4", "--steps", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    inrv = _check_result_file(result_path(out, "folder", "carphone", family), family, 1)
    assert inrv["method"]["steps"] == 2 and inrv["settings"] == [{"quality": 4}] and inrv["extra"][0]["steps"] == 2
    x265 = _check_result_file(result_path(out, "folder", "carphone", "x265-medium"), "x265-medium", 2)
    assert x265["method"]["preset"] == "medium" and sorted(s["crf"] for s in x265["settings"]) == [20, 44]
    averaged = json.loads((out / "results" / "folder" / f"{family}.json").read_text())
    assert averaged["results"]["bpp"] == inrv["results"]["bpp"] and averaged["sequences"] == ["carphone"]
    for png in ("carphone.png", "average.png"):
        assert (out / "plots" / "folder" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "BD-rate vs x265-medium" in report and f"| {family} |" in report
    assert "plots/folder/carphone.png" in report and f"results/folder/carphone/{family}.json" in report
    printed = capsys.readouterr().out
    assert "BD-rate vs x265-medium" in printed and "report:" in printed


def test_cli_sweep_with_stand_in_family_and_explicit_values(carphone_small, tmp_path, fake_codec):
    out = tmp_path / "run"
    code = main(["--files", f"carphone={carphone_small.path}", "--methods", "fake", "--values", "fake=3,5,0.01",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    data = _check_result_file(result_path(out, "folder", "carphone", "fake"), "fake", 3)
    assert {json.dumps(s) for s in data["settings"]} == {'{"quality": 3}', '{"quality": 5}', '{"lmbda": 0.01}'}
    assert "## BD-rate" not in (out / "report.md").read_text()  # no anchor evaluated
    assert main(["--files", "carphone", "--methods", "nope", "--out", str(out)]) == 2


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


def test_merge_args_lets_the_user_override_defaults():
    from eval.cli import merge_args

    defaults = ["--files", "carphone", "bikes", "--frames", "16", "--values", "x265=30", "--out", "a"]
    merged = merge_args(defaults, ["--frames", "8", "--files", "carphone", "--values", "x264=30", "--no-progress"])
    assert merged == ["--values", "x265=30", "--out", "a", "--frames", "8", "--files", "carphone",
                      "--values", "x264=30", "--no-progress"]
