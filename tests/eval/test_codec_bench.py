"""The matched-PSNR speed table of the NIRVANA benchmark (eval.codec_bench)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from eval.codec_bench import (
    RDPoint,
    key_group_bound_table,
    matched_psnr_table,
    merge_speed_sweeps,
    needed_to_reach,
)


def _point(family: str, steps: int, psnr: float, seconds: float, passes: float, key: float = 0.0) -> RDPoint:
    return RDPoint(family=family, label=f"steps={steps}", bpp=0.1, psnr_rgb=psnr, psnr_yuv=psnr,
                   ms_ssim=0.9, encode_s=seconds, decode_fps=100.0, steps=steps, file_bytes=1000,
                   frame_passes=passes, key_seconds=key)


def test_needed_to_reach_interpolates_and_uses_the_running_best():
    pts = [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400),
           _point("nerv", 1500, 25.5, 130.0, 3000)]  # the longest run is worse: 26 dB was reached at 700
    assert needed_to_reach(pts, 25.0) == pytest.approx(40.0)
    assert needed_to_reach(pts, 25.0, "frame_passes") == pytest.approx(1000.0)
    assert needed_to_reach(pts, 23.0) == 20.0  # below the first point: its cost
    assert needed_to_reach(pts, 25.8) == pytest.approx(56.0)
    assert needed_to_reach(pts, 26.5) is None


def test_matched_psnr_table_ratio_is_passes_ratio_times_cost_ratio():
    nerv = [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400)]
    nir = [_point("nirvana", 100, 23.0, 10.0, 4000), _point("nirvana", 400, 26.0, 30.0, 12000)]
    lines = matched_psnr_table(nerv, nir, frames=100)
    row = next(line for line in lines if line.split()[0] == "26.00").split()
    psnr, t_nerv, t_nir, ratio, p_nerv, p_nir, ms_nerv, ms_nir = map(float, row)
    assert (t_nerv, t_nir, ratio) == (60.0, 30.0, 2.0)
    assert (p_nerv, p_nir) == (14.0, 120.0)  # passes per frame of video
    assert ms_nerv == pytest.approx(1000 * 60 / 1400, abs=0.05) and ms_nir == pytest.approx(2.5)
    assert ratio == pytest.approx((p_nerv / p_nir) * (ms_nerv / ms_nir), rel=0.01)
    assert [line.split()[0] for line in lines[1:-1]] == ["24.00", "26.00"]


def test_matched_psnr_table_includes_the_top_point_of_either_sweep():
    """A point whose PSNR rounds up (26.0462 -> 26.05, above it) is still matched at its own value."""
    nerv = [_point("nerv", 300, 23.52, 58.7, 600), _point("nerv", 600, 26.30, 102.4, 1200)]
    nir = [_point("nirvana", 100, 17.02, 39.4, 2000), _point("nirvana", 400, 26.0462, 117.3, 8000)]
    rows = [line.split() for line in matched_psnr_table(nerv, nir, frames=64)[1:-1]]
    assert [row[0] for row in rows] == ["23.52", "26.05"]
    assert float(rows[1][2]) == pytest.approx(117.3)


def test_matched_psnr_table_without_overlap():
    nerv = [_point("nerv", 300, 30.0, 20.0, 600)]
    nir = [_point("nirvana", 100, 23.0, 10.0, 4000)]
    assert "(no PSNR reached by both sweeps)" in matched_psnr_table(nerv, nir, frames=10)


def test_matched_psnr_table_times_each_family_by_its_fastest_size():
    nerv = {"s": [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 3000, 29.0, 200.0, 6000)],
            "m": [_point("nerv", 300, 23.0, 40.0, 600), _point("nerv", 1500, 29.0, 100.0, 3000)]}
    nir = {"s": [_point("nirvana", 100, 24.0, 10.0, 4000), _point("nirvana", 400, 26.0, 30.0, 12000)],
           "l": [_point("nirvana", 400, 29.0, 50.0, 14000)]}
    lines = matched_psnr_table(nerv, nir, frames=100)
    assert lines[0].split()[-3:] == ["size", "nerv", "nirvana"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert list(rows) == ["24.00", "26.00", "29.00"]
    assert rows["24.00"][1:4] == ["20.0", "10.0", "2.0"] and rows["24.00"][-2:] == ["s", "s"]
    # 29 dB: nerv m (100 s) beats nerv s (200 s); only nirvana l gets there
    assert rows["29.00"][1:4] == ["100.0", "50.0", "2.0"] and rows["29.00"][-2:] == ["m", "l"]
    assert float(rows["29.00"][4]) == 30.0 and float(rows["29.00"][5]) == 140.0  # the chosen sweeps' passes
    # 26 dB: nerv m 40 + 3/6 * 60 = 70 s against s's 20 + 2/5 * 180 = 92 s; nirvana s 30 s against l's 50
    assert rows["26.00"][1:4] == ["70.0", "30.0", "2.3"] and rows["26.00"][-2:] == ["m", "s"]


def test_matched_psnr_table_prints_each_psnr_once():
    nerv = [_point("nerv", 300, 23.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400)]
    nir = {"s": [_point("nirvana", 100, 23.5712, 10.0, 4000)], "m": [_point("nirvana", 100, 23.5749, 12.0, 4000)]}
    rows = [line.split() for line in matched_psnr_table(nerv, nir, frames=100)[1:-1]]
    assert [row[0] for row in rows] == ["23.57"]
    assert rows[0][-1] == "m"  # matched at the higher exact value, which only m reaches


def test_key_group_bound_divides_nerv_time_by_the_key_groups_time():
    """At each nirvana point nerv reaches: the measured ratio, and nerv's time over the key groups'
    training time alone (the ratio if later groups were free); points beyond nerv's sweep are left out."""
    nerv = {"s": [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400)],
            "m": [_point("nerv", 300, 25.0, 25.0, 600)]}
    nir = {"s": [_point("nirvana", 100, 24.0, 10.0, 4000, key=4.0),
                 _point("nirvana", 400, 27.0, 30.0, 12000, key=12.0)],
           "m": [_point("nirvana", 100, 25.0, 15.0, 4000, key=5.0)]}
    lines = key_group_bound_table(nerv, nir)
    rows = [line.split() for line in lines[1:-1]]
    # 24 dB: nerv s 20 s; 25 dB: nerv m 25 s (faster than s's 30 s by interpolation); 27 dB: unreached
    assert [(r[0], r[-3], r[-2], r[-1]) for r in rows] == [("24.00", "20.0", "2.0", "5.0"),
                                                           ("25.00", "25.0", "1.7", "5.0")]
    assert key_group_bound_table(nerv, {"s": [_point("nirvana", 100, 24.0, 10.0, 4000)]})[1].startswith("(no")
    # a nirvana point below every nerv sweep's first point: nerv's time there is not measured (only
    # that it is at most 20 s), so it gets no row rather than an overstated ratio and bound
    below = key_group_bound_table(nerv, {"s": [_point("nirvana", 100, 23.5, 10.0, 4000, key=4.0)]})
    assert below[1].startswith("(no")


def _report(clip: str, **sweeps: list[RDPoint]) -> dict:
    """A saved bench report (scripts/bench_nirvana.py --json) with these speed sweeps, e.g. nerv_m=[...]."""
    sections = {f"speed {name.replace('_', ' ')}": [asdict(p) for p in pts] for name, pts in sweeps.items()}
    return {"args": {"clips": clip}, clip: {"rd nerv": [], **sections}}


def test_merge_speed_sweeps_puts_side_by_side_runs_together():
    """Two runs, each a few sizes and step counts, give the tables of one run over all of them."""
    nerv_m = [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400)]
    nerv_l = [_point("nerv", 300, 25.5, 30.0, 600), _point("nerv", 700, 28.0, 90.0, 1400)]
    nir_a = [_point("nirvana", 400, 26.0, 30.0, 12000, key=10.0)]
    nir_b = [_point("nirvana", 100, 23.0, 10.0, 4000, key=4.0), _point("nirvana", 800, 27.5, 55.0, 20000, key=20.0)]
    first = _report("bikes:64", nerv_m=nerv_m, nirvana_s=nir_a)
    second = _report("bikes:64", nerv_l=nerv_l, nirvana_s=nir_b)
    lone = _report("carphone:120", nerv_s=nerv_m)  # no nirvana sweep: no table
    (merged,) = merge_speed_sweeps([first, second, lone])
    assert (merged.clip, merged.frames) == ("bikes:64", 64)
    assert set(merged.nerv) == {"m", "l"} and list(merged.nirvana) == ["s"]
    assert sorted(p.steps for p in merged.nirvana["s"]) == [100, 400, 800]
    expected_nir = {"s": nir_a + nir_b}
    assert matched_psnr_table(merged.nerv, merged.nirvana, merged.frames) == \
        matched_psnr_table({"m": nerv_m, "l": nerv_l}, expected_nir, 64)
    bound = key_group_bound_table(merged.nerv, merged.nirvana)
    assert bound == key_group_bound_table({"m": nerv_m, "l": nerv_l}, expected_nir)
    assert [line.split()[0] for line in bound[1:-1]] == ["26.00", "27.50"]  # 23 dB: below nerv's sweeps


@pytest.mark.parametrize("report, message", [
    ([1], "not a bench report"),
    ({"bikes:64": {"speed nerv s": [{"family": "nerv"}]}}, "not a list of bench points"),
    ({"bikes": {"speed nerv s": [], "speed nirvana s": []}}, "NAME:FRAMES"),
])
def test_merge_speed_sweeps_refuses_what_is_not_a_report(report, message):
    with pytest.raises(ValueError, match=message):
        merge_speed_sweeps([report])


BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench_nirvana.py"


def test_bench_tables_option_prints_saved_runs_and_refuses_bad_files(tmp_path):
    nerv = [_point("nerv", 300, 24.0, 20.0, 600), _point("nerv", 700, 26.0, 60.0, 1400)]
    nir = [_point("nirvana", 400, 26.0, 30.0, 12000, key=10.0)]
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(json.dumps(_report("bikes:64", nerv_s=nerv)))
    b.write_text(json.dumps(_report("bikes:64", nirvana_s=nir)))
    bad.write_text("{not json")
    run = [sys.executable, str(BENCH), "--tables"]
    ok = subprocess.run(run + [str(a), str(b), "--plots", str(tmp_path / "plots")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    plot = tmp_path / "plots" / "bikes_64_speed.png"
    assert f"plot: {plot}" in ok.stdout and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "bikes:64: nerv s (2 points), nirvana s (1 point)" in ok.stdout
    row = next(line.split() for line in ok.stdout.splitlines() if line.split()[:1] == ["26.00"])
    assert row[1:4] == ["60.0", "30.0", "2.0"]
    for files, message in (([bad], "cannot read a JSON report"), ([a], "no clip has time-vs-PSNR sweeps")):
        out = subprocess.run(run + [str(f) for f in files], capture_output=True, text=True, timeout=120)
        assert out.returncode != 0 and "Traceback" not in out.stderr
        assert out.stderr.strip().startswith("bench_nirvana: ") and message in out.stderr


def test_plot_stem_names_a_clip_key_as_a_file():
    from eval.nirvana_bench import plot_stem

    assert plot_stem("bikes:64") == "bikes_64"
    assert plot_stem("videos/My clip (1).mp4:120") == "My_clip_1_120"
