"""eval.rd_bench (scripts/bench_rd.py): clip specs, the per-clip and per-family tables on synthetic
result points, and a tiny resumed run with the stand-in family of conftest."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from codec.errors import ConfigError
from eval import rd_bench
from eval.rd_bench import ClipSpec, bench_methods, bench_rows, family_summaries, parse_clips, parse_qualities
from eval.results import PointResult, SequenceResults, save
from eval.sweep import result_path

REPO = Path(__file__).resolve().parents[2]
PSNR = [30.0, 32.0, 34.0, 36.0]
X264 = [0.1, 0.2, 0.4, 0.8]


def test_clip_specs_name_frames_and_scale():
    clips = parse_clips("carphone:120, bikes:64,bigbuckbunny:64/2")
    assert clips == (ClipSpec("carphone", 120), ClipSpec("bikes", 64), ClipSpec("bigbuckbunny", 64, 2.0))
    assert [c.text for c in clips] == ["carphone:120", "bikes:64", "bigbuckbunny:64/2"]
    (odd,) = parse_clips("/data/a:b/clip.mp4:10/1.5")  # a path may hold colons and slashes
    assert odd == ClipSpec("/data/a:b/clip.mp4", 10, 1.5)


@pytest.mark.parametrize("text, message", [
    ("carphone", "NAME:FRAMES"), (":5", "NAME:FRAMES"), ("carphone:", "FRAMES"), ("carphone:0", "FRAMES"),
    ("carphone:-3", "FRAMES"), ("carphone:ten", "FRAMES"), ("carphone:5/x", "SCALE"), ("carphone:5/0.5", "SCALE"),
    ("carphone:5/nan", "SCALE"), ("carphone:5,,bikes:3", "empty"), ("", "empty"), ("carphone:5,carphone:9", "twice"),
])
def test_bad_clip_specs_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_clips(text)


def test_quality_levels():
    assert parse_qualities("1..8") == tuple(range(1, 9))
    assert parse_qualities("2..3,7,3") == (2, 3, 7)
    for bad in ("0", "1..9", "a", "5..2", "1,,2"):
        with pytest.raises(ConfigError, match="--qualities"):
            parse_qualities(bad)


def _run(method: str, rates, clip: str = "a", seconds=None) -> SequenceResults:
    runs = SequenceResults(method, method, "rd", {"name": clip}, {"m": method})
    for i, (r, q) in enumerate(zip(rates, PSNR, strict=True)):
        s = seconds[i] if seconds else 0.5
        runs = runs.with_point(PointResult({"quality": i + 1}, int(r * 1e4), r, q, q + 2, None, s, 0.1, 40.0, 9.0, 9.0))
    return runs


def _synthetic() -> dict:
    """nerv needs 2x x264's bits on clip a and 4x on clip b at every PSNR; x265 needs 1.5x x264's."""
    runs = {}
    for clip, factor in (("a", 2.0), ("b", 4.0)):
        runs[(clip, "nerv")] = _run("nerv", [r * factor for r in X264], clip, seconds=[1.0, 2.0, 3.0, 10.0])
        runs[(clip, "x264-medium")] = _run("x264-medium", X264, clip)
        runs[(clip, "x265-medium")] = _run("x265-medium", [r * 1.5 for r in X264], clip)
    return runs


def test_rows_give_bd_rate_ratio_seconds_and_psnr_range():
    runs = _synthetic()
    rows = bench_rows(runs, ["nerv"], ["x264-medium", "x265-medium"])
    assert [(r.clip, r.method) for r in rows] == [("a", "nerv"), ("a", "x264-medium"), ("a", "x265-medium"),
                                                  ("b", "nerv"), ("b", "x264-medium"), ("b", "x265-medium")]
    a, b = rows[0], rows[3]
    assert a.bd["x264-medium"].value == pytest.approx(100.0, abs=0.01)
    assert a.bd["x265-medium"].value == pytest.approx(100 * (2 / 1.5 - 1), abs=0.01)
    assert b.bd["x264-medium"].value == pytest.approx(300.0, abs=0.01)
    # at nerv's best PSNR (36 dB) x264 is the cheaper anchor: the ratio is against it
    assert a.ratio.value == pytest.approx(2.0) and a.ratio.anchor == "x264-medium" and a.ratio.quality == 36.0
    assert not a.ratio.extrapolated and b.ratio.value == pytest.approx(4.0)
    assert (a.points, a.encode_mean, a.encode_max, a.psnr_min, a.psnr_max) == (4, 4.0, 10.0, 30.0, 36.0)
    x265 = rows[2]
    assert x265.ratio is None and x265.bd["x265-medium"] is None
    assert x265.bd["x264-medium"].value == pytest.approx(50.0, abs=0.01)
    text = rd_bench.format_rows(rows)
    assert "+100.0%" in text and "2.00x at 36.00 dB (x264-medium)" in text and "anchor" in text and "n/a" not in text


def test_family_summary_is_the_worst_clip():
    runs = _synthetic()
    rows = bench_rows(runs, ["nerv"], ["x264-medium", "x265-medium"])
    (summary,) = family_summaries(rows, runs, ["nerv", "hnerv"])  # hnerv has no rows: no line
    assert summary.family == "nerv" and summary.worst_clip == "b" and summary.worst.value == pytest.approx(4.0)
    assert summary.bd["x264-medium"].value == pytest.approx(200.0, abs=0.01)
    assert (summary.points, summary.encode_mean, summary.encode_max) == (8, 4.0, 10.0)
    line = rd_bench.format_summaries([summary])
    assert line.startswith("nerv: worst clip ratio 4.00x at 36.00 dB (x264-medium) on b; "
                           "mean BD-rate vs x264-medium +200.0%")


def test_rows_without_the_ratio_anchors_say_why():
    runs = {("a", "nerv"): _run("nerv", X264), ("a", "svtav1"): _run("svtav1", X264)}
    (row, _) = bench_rows(runs, ["nerv"], ["svtav1"])
    assert row.ratio.value is None and row.bd["x264-medium"].value is None
    text = rd_bench.format_rows([row])
    assert "n/a: nerv on a vs x264-medium: x264-medium not run" in text and "nerv on a, bits ratio: none of" in text


def test_methods_by_side():
    families, anchors = bench_methods("nerv", "x264,x265-medium,av1", threads=3, steps=5)
    assert [m.name for m in families] == ["nerv"]
    assert [m.name for m in anchors] == ["x264-medium", "x265-medium", "svtav1"]
    assert families[0].describe()["threads"] == 3 and families[0].describe()["steps"] == 5
    with pytest.raises(ConfigError, match="--families"):
        bench_methods("nerv,x264", "x265")
    with pytest.raises(ConfigError, match="--anchors"):
        bench_methods("nerv", "hnerv")
    with pytest.raises(ConfigError, match="unknown method"):
        bench_methods("nerf", "x265")


def _script():
    spec = importlib.util.spec_from_file_location("bench_rd", REPO / "scripts" / "bench_rd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_only_prints_and_draws_saved_results(tmp_path, capsys):
    for (clip, method), runs in _synthetic().items():
        name = {"a": "carphone", "b": "bikes"}[clip]
        save(result_path(tmp_path, rd_bench.DATASET, name, method),
             SequenceResults(method, method, "rd", {"name": name}, {"m": method}, runs.points))
    code = _script().main(["--clips", "carphone:8,bikes:8", "--families", "nerv", "--anchors", "x264,x265",
                           "--out", str(tmp_path), "--report-only"])
    out = capsys.readouterr().out
    assert code == 0
    assert "nerv: worst clip ratio 4.00x at 36.00 dB (x264-medium) on bikes" in out
    assert (tmp_path / "plots" / "rd" / "carphone.png").stat().st_size > 0 and (tmp_path / "report.md").exists()
    assert _script().main(["--clips", "carphone:8/0.5", "--out", str(tmp_path), "--report-only"]) == 2


def test_a_run_resumes_without_redoing_points(fake_codec, carphone_small, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setenv("INRV_THREADS", "1")  # restored afterwards, with torch's count below
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    config = rd_bench.BenchConfig(clips=(ClipSpec(str(carphone_small.path), 4),), out=tmp_path, families="fake",
                                  anchors="", qualities=(2, 4), progress=False)
    assert rd_bench.main(config) == 0
    assert fake_codec.calls == [2, 4]
    first = capsys.readouterr().out
    assert rd_bench.main(config) == 0 and fake_codec.calls == [2, 4]  # nothing redone
    assert "fake quality=2" in first and "fake quality=2" not in capsys.readouterr().out


def test_the_baseline_is_each_family_at_fixed_options_over_the_old_lambdas(tmp_path):
    from eval.datasets import Sequence
    from eval.rd_bench import BASELINE_LAMBDAS, baseline_methods, parse_baseline

    assert parse_baseline("preset:s,steps:1500") == {"preset": "s", "steps": 1500}
    with pytest.raises(ConfigError):
        parse_baseline("preset=s")
    fams, _ = bench_methods("nerv", "x264-medium")
    (base,) = baseline_methods(fams, "preset:s,steps:1500", threads=1, device="cpu")
    assert base.name == "nerv-base" and base.family == "nerv" and base.describe()["options"]["preset"] == "s"
    seq = Sequence("c", tmp_path / "c.y4m", 176, 144, 8, 25, tmp_path / "c.y4m")
    config = base._config(seq, base.parse_setting(f"{BASELINE_LAMBDAS[0]:g}"))
    assert (config.options.preset, config.options.steps, config.options.lmbda) == ("s", 1500, BASELINE_LAMBDAS[0])
