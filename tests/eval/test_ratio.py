"""eval.ratio: the bits ratio at a method's best quality against the better anchor."""

from __future__ import annotations

import math

import pytest

from eval.ratio import anchor_rate_at, bits_ratio, ratio_table
from tests.eval.test_bdrate import _results


def test_anchor_rate_is_log_linear_between_points_and_extrapolated_outside():
    rate, extra = anchor_rate_at([0.1, 0.4], [30.0, 36.0], 33.0)
    assert rate == pytest.approx(0.2) and not extra  # halfway in quality: the geometric mean
    rate, extra = anchor_rate_at([0.1, 0.4], [30.0, 36.0], 27.0)
    assert rate == pytest.approx(0.05) and extra
    assert anchor_rate_at([0.1], [30.0], 30.0) is None


def test_ratio_takes_the_best_point_and_the_cheaper_anchor():
    inrv = _results("inrv", [0.2, 0.8], [30.0, 33.0])
    x264 = _results("x264-medium", [0.1, 0.4], [30.0, 36.0])  # 0.2 bpp at 33 dB
    x265 = _results("x265-medium", [0.05, 0.2], [30.0, 36.0])  # 0.1 bpp at 33 dB
    r = bits_ratio(inrv, {"x264-medium": x264, "x265-medium": x265})
    assert r.value == pytest.approx(8.0) and r.anchor == "x265-medium" and r.quality == 33.0 and not r.extrapolated
    assert r.text() == "8.00x at 33.00 dB (x265-medium)"
    far = bits_ratio(inrv, {"x264-medium": _results("x264-medium", [0.4, 0.8], [36.0, 38.0])})
    assert far.extrapolated and far.text().startswith("~")
    assert math.isclose(far.value, 0.8 / (0.4 * (0.8 / 0.4) ** (-3 / 2)))


def test_table_rows_are_the_non_anchor_methods():
    runs = {("a", "inrv"): _results("inrv", [0.2, 0.8], [30.0, 33.0]),
            ("a", "x264-medium"): _results("x264-medium", [0.1, 0.4], [30.0, 36.0]),
            ("b", "x264-medium"): _results("x264-medium", [0.1, 0.4], [30.0, 36.0], "b")}
    table = ratio_table(runs, ("x264-medium", "x265-medium"))
    assert table.anchors == ("x264-medium",) and table.methods == ("inrv",)
    assert table.values[("inrv", "b")].text() == "n/a"
    assert "| inrv | 4.00x at 33.00 dB (x264-medium) | n/a |" in table.to_markdown()
    assert ratio_table({("a", "inrv"): runs[("a", "inrv")]}, ("x264-medium",)) is None
