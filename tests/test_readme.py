"""The README says what the code does: its option lists are the registry's, its demo figures are
the saved measurement's (eval/readme.py), and that measurement was made with the demo as coded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codec.registry import families
from eval import readme

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _choice_lists(text: str) -> dict[str, list[set[str]]]:
    """Every ``--flag {a,b,c}`` of the text, by flag."""
    found: dict[str, list[set[str]]] = {}
    for flag, choices in re.findall(r"`(--[a-z-]+) \{([^}]*)\}", text):
        found.setdefault(flag, []).append({c.strip() for c in choices.split(",")})
    return found


def test_model_lists_name_every_registered_family():
    lists = _choice_lists(README)["--model"]
    assert lists and all(choices == {f.name for f in families()} for choices in lists)


def test_option_choice_lists_are_the_declared_choices():
    lists = _choice_lists(README)
    declared = {s.flag: set(s.choices) for f in families() for s in f.options_cls.specs() if s.choices}
    shown = {flag: choices for flag, choices in lists.items() if flag in declared}
    assert shown, "the README shows no declared choices"
    assert {flag: [declared[flag]] * len(choices) for flag, choices in shown.items()} == shown


def test_every_family_and_family_option_is_in_the_readme():
    missing = [f.name for f in families() if f"[`{f.name}`]" not in README]
    missing += [s.flag for f in families() for s in f.options_cls.specs() if f"`{s.flag}" not in README]
    assert missing == []


def test_the_demo_figures_are_the_saved_measurement():
    record = readme.load(ROOT / readme.DEMO_JSON)
    assert readme.readme_block(record) in README  # python scripts/demo_figures.py --readme-only mends it
    assert record.settings == readme.demo_settings()  # the demo changed: rerun scripts/demo_figures.py
    assert record.run(1) is not None


def test_update_readme_replaces_only_the_marked_block(tmp_path):
    record = readme.DemoRecord({}, "2-core test machine", (readme.DemoRun(1, 1000, 0.1, 25.0, 50.0, 20.0, 60.0),))
    path = tmp_path / "README.md"
    path.write_text(f"before {readme.BEGIN}old{readme.END} after\n")
    assert readme.update_readme(path, record) and not readme.update_readme(path, record)
    assert path.read_text() == f"before {readme.readme_block(record)} after\n"
    assert "0.1000 bpp (1,000 bytes), 25.00 dB PSNR-RGB" in readme.sentence(record)


def test_stream_info_prints_its_bpp(tmp_path):
    from fractions import Fraction

    from codec.results import StreamInfo

    info = StreamInfo(tmp_path / "a.inrv", "hnerv", 2, 176, 144, 32, Fraction(30), 1485, 40, (1200, 245))
    assert str(info) == ("a.inrv: hnerv, 176x144, 32 frames at 30 fps; 1,485 bytes (header 40; 2 chunks: "
                         "1,200, 245), 0.0146 bpp")


@pytest.mark.slow
def test_the_demo_still_makes_the_readme_figures():
    """The demo with one thread against the saved figures (the floats depend on the CPU: 3% / 0.3 dB)."""
    saved = readme.load(ROOT / readme.DEMO_JSON).run(1)
    now = readme.measure_demo((1,), progress=False).run(1)
    assert now.bpp == pytest.approx(saved.bpp, rel=0.03)
    assert now.psnr_rgb == pytest.approx(saved.psnr_rgb, abs=0.3)
