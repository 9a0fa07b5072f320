"""eval.ratecontrol_bench: target parsing, the saved points and the table (no encoding)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from eval.ratecontrol_bench import TargetPoint, load, parse_targets, table


def test_targets_parse_and_bad_ones_are_refused():
    assert parse_targets("bpp=0.05,psnr=30") == [("bpp", 0.05), ("psnr", 30.0)]
    for bad in ("rate=1", "bpp", "psnr=", "bpp=x"):
        with pytest.raises(ValueError):
            parse_targets(bad)


def test_saved_points_load_and_print_their_miss(tmp_path):
    a = TargetPoint("carphone:32", "nerv", "bpp", 0.1, 0.108, 0.08, 4.2, 3, 1, 30.0, 130.0, 0.108, 29.0)
    b = TargetPoint("carphone:32", "nerv", "psnr", 30.0, 29.8, -0.2, 5.1, 4, 2, 40.0, 250.0, 0.12, 29.8)
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(asdict(p)) + "\n" for p in (a, b)))
    assert load(path) == [a, b]
    text = table([a, b])
    assert "+8.0%" in text and "-0.20 dB" in text and text.count("\n") == 2
