"""inrv eval --threads (every method told, the report and result files record it) and the report's
pictures of decoded frames (eval.pictures)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np

from eval.base import Setting
from eval.anchors import ANCHOR_SPECS, FfmpegAnchor, thread_options
from eval.cli import main
from eval.inrv import InrvMethod
from eval.pictures import crop_window, pick_points
from eval.sweep import result_path

PNG = b"\x89PNG\r\n\x1a\n"


def test_each_encoder_is_told_its_threads_its_own_way():
    assert thread_options(("-preset", "medium"), "libx264", 2) == ("-preset", "medium", "-threads", "2")
    x265 = ANCHOR_SPECS["x265-medium"]
    assert thread_options(x265.options, x265.encoder, 1)[-1] == "log-level=error:info=0:pools=1"
    assert thread_options(("-preset", "8"), "libsvtav1", 3) == ("-preset", "8", "-svtav1-params", "lp=3")
    ld = ANCHOR_SPECS["svtav1-ld"]
    assert thread_options(ld.options, ld.encoder, 1)[-1] == "pred-struct=1:lp=1"
    assert "threads" not in FfmpegAnchor(x265).describe() and FfmpegAnchor(x265, threads=2).describe()["threads"] == 2
    inrv = InrvMethod("nerv", threads=3)
    assert inrv.describe()["threads"] == 3 and "threads" not in InrvMethod("nerv").describe()
    assert inrv._config(SimpleNamespace(num_frames=4), Setting("quality", 4)).threads == 3


def test_eval_threads_are_recorded_and_frames_shown(carphone_small, tmp_path, fake_codec):
    out = tmp_path / "run"
    code = main(["--files", f"carphone={carphone_small.path}", "--methods", "fake,x264-medium", "--values", "fake=3,6",
                 "--values", "x264-medium=24,44", "--threads", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    for method in ("fake", "x264-medium"):
        assert json.loads(result_path(out, "folder", "carphone", method).read_text())["method"]["threads"] == 1
    report = (out / "report.md").read_text()
    assert "| inrv threads | 1 CPU thread per encode and decode (they decide the file) |" in report
    assert "| anchor threads | 1 |" in report
    frames = out / "results" / "folder" / "carphone" / "frames"
    assert sorted(p.name for p in frames.iterdir()) == [
        "fake_quality=3.png", "fake_quality=6.png", "source.png", "x264-medium_crf=24.png", "x264-medium_crf=44.png"]
    source = iio.imread(frames / "source.png")
    assert source.shape == (72, 72, 3)  # 88x72 frames: the short side
    coarse = iio.imread(frames / "fake_quality=3.png")  # 3 bits a sample: visibly worse
    assert np.abs(coarse.astype(int) - source).mean() > 4 * np.abs(iio.imread(frames / "fake_quality=6.png").astype(int) - source).mean()
    assert (out / "plots" / "folder" / "carphone_frames.png").read_bytes()[:8] == PNG
    assert "## Decoded frames" in report and "plots/folder/carphone_frames.png" in report


def test_the_crop_is_the_most_detailed_window():
    frame = np.full((100, 120, 3), 128, np.uint8)
    frame[60:80, 90:110] = np.random.default_rng(0).integers(0, 255, (20, 20, 3))
    window = crop_window(frame, size=32)
    assert (window.height, window.width) == (32, 32)
    assert window.top <= 60 and window.top + 32 >= 80 and window.left <= 90 and window.left + 32 >= 110
    short = crop_window(frame[55:85], size=64)  # 30 rows: a 30 x 30 window
    assert (short.top, short.height, short.width) == (0, 30, 30) and short.left <= 90 and short.left + 30 >= 110


def test_points_are_picked_near_one_rate(tmp_path):
    points = {"a": [("q=1", 0.01, 20.0), ("q=2", 0.05, 25.0), ("q=3", 0.2, 30.0)],
              "b": [("crf=40", 0.045, 24.0), ("crf=30", 0.5, 33.0)],
              "c": [("q=9", 0.3, 31.0)]}  # no crop kept: left out
    for m, pts in points.items():
        for key, _, _ in pts:
            if m != "c":
                (tmp_path / f"{m}_{key}.png").write_bytes(PNG)
    target, picks = pick_points(points, tmp_path)
    assert target in (0.05, 0.045) and {(p.method, p.key) for p in picks} == {("a", "q=2"), ("b", "crf=40")}
