"""BD-rate on synthetic curves with known answers, n/a cases, tables; result files and plots."""

from __future__ import annotations

import json
import math

import pytest

from codec.errors import ConfigError
from eval.bdrate import bd_rate, bd_table
from eval.plots import Curve, rd_plot
from eval.published import UVG_PUBLISHED
from eval.results import PointResult, SequenceResults, average, load, save

RATES = [0.02, 0.05, 0.1, 0.2]
PSNR = [30.0, 33.0, 35.5, 37.5]


@pytest.mark.parametrize("interpolation", ["akima", "pchip"])
def test_known_rate_ratio(interpolation):
    """The same curve at 80% of the rate is exactly -20%."""
    result = bd_rate(RATES, PSNR, [r * 0.8 for r in RATES], PSNR, interpolation=interpolation)
    assert result.value == pytest.approx(-20.0, abs=1e-9)
    shifted = bd_rate(RATES, PSNR, [r * 1.5 for r in RATES], [p + 0.1 for p in PSNR], interpolation=interpolation)
    assert 40 < shifted.value < 50


def test_not_available_cases():
    assert bd_rate(RATES, PSNR, [0.5, 1.0], [40.0, 42.0]).reason == "quality ranges do not overlap"
    assert "strictly" in bd_rate(RATES, PSNR, RATES, [30.0, 34.0, 33.0, 37.0]).reason
    assert "need 2" in bd_rate(RATES, PSNR, [0.1], [35.0]).reason
    assert bd_rate(RATES, PSNR, [0.1, float("nan")], [35.0, 36.0]).value is None
    assert bd_rate(RATES, PSNR, RATES, PSNR).text() == "+0.0%"
    with pytest.raises(ConfigError):
        bd_rate(RATES, PSNR, RATES, PSNR, interpolation="cubic")


def _results(name: str, rates, psnrs, seq: str = "a") -> SequenceResults:
    runs = SequenceResults(name, f"{name} test", "folder", {"name": seq}, {"m": name})
    for i, (r, p) in enumerate(zip(rates, psnrs)):
        runs = runs.with_point(PointResult({"q": i}, int(r * 1000), r, p, p + 3, 0.9 + i / 100, 1.0, 0.1, 80.0, 50.0,
                                           40.0))
    return runs


def test_table_average_and_markdown():
    runs = {
        ("a", "x265"): _results("x265", RATES, PSNR),
        ("a", "inrv"): _results("inrv", [r * 0.9 for r in RATES], PSNR),
        ("b", "x265"): _results("x265", RATES, PSNR, "b"),
        ("b", "inrv"): _results("inrv", [5.0, 6.0], [50.0, 51.0], "b"),
    }
    table = bd_table(runs, "x265")
    assert table.methods == ("inrv",) and table.sequences == ("a", "b")
    assert table.values[("inrv", "a")].value == pytest.approx(-10.0)
    assert table.values[("inrv", "b")].value is None
    assert table.average["inrv"].value == pytest.approx(-10.0) and "1 of 2" in table.average["inrv"].text()
    text = table.to_markdown()
    assert "| inrv | -10.0% | n/a | -10.0% (1 of 2 sequences) |" in text and "inrv on b: quality ranges" in text
    with pytest.raises(ConfigError, match="anchor"):
        bd_table(runs, "vvenc")


def test_result_files_round_trip_and_average(tmp_path):
    a = _results("m", RATES, PSNR)
    nan_point = PointResult({"q": 9}, 1, 0.3, 38.0, 41.0, None, float("nan"), 0.1, 5.0, 1.0, 1.0)
    a = a.with_point(nan_point)
    path = tmp_path / "m.json"
    save(path, a)
    data = json.loads(path.read_text())
    assert data["results"]["ms-ssim"][-1] is None and data["results"]["encode-s"][-1] is None
    back = load(path)
    assert back.points[:-1] == a.points[:-1] and math.isnan(back.points[-1].encode_s)
    assert not list(tmp_path.glob("*.part"))
    b = _results("m", [r * 2 for r in RATES[:3]], [p + 1 for p in PSNR[:3]], "b")
    mean = average([a, b])
    assert mean["settings"] == [{"q": 0}, {"q": 1}, {"q": 2}]
    assert mean["results"]["bpp"] == pytest.approx([r * 1.5 for r in RATES[:3]])
    assert mean["results"]["psnr-rgb"] == pytest.approx([p + 0.5 for p in PSNR[:3]])
    assert set(mean["per-sequence"]) == {"a", "b"}
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read result file"):
        load(path)


def test_plot_with_published_curves(tmp_path):
    curve = Curve("x265", "anchor", {"bpp": RATES, "psnr-rgb": PSNR, "psnr-yuv": PSNR, "ms-ssim": [None] * 4})
    path = rd_plot(tmp_path / "p.png", "uvg: average", [curve], UVG_PUBLISHED)
    assert path.read_bytes()[:4] == b"\x89PNG"
    nerv = next(c for c in UVG_PUBLISHED if c.label.startswith("NeRV (paper)"))
    assert nerv.points[0] == (0.0135, 31.28) and "NeurIPS 2021" in nerv.source
