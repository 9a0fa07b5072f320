"""The ladder audit (eval/ladder_audit.py): points appended and resumed, failed encodes recorded as
failed points, a level under the level below it marked; and (slow) the real ladders on one clip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import codec
from codec.errors import InrvError
from codec.results import EncodeResult
from eval import ladder_audit as audit


def _result(dst, psnr: float, **guards) -> EncodeResult:
    Path(dst).write_bytes(b"x" * 100)
    return EncodeResult(path=Path(dst), model="nerv", width=88, height=72, num_frames=4, file_bytes=100,
                        bpp=100 * 8 / (88 * 72 * 4), psnr_rgb=psnr, psnr_yuv=psnr, encode_seconds=0.0,
                        decode_seconds=0.0, steps=10, estimated_bpp=0.0, lmbda=1e-3, threads=1, frame_passes=1.0,
                        **guards)


@pytest.fixture
def scripted(monkeypatch):
    """codec.encode made a script: level -> PSNR, or an error message (raised as InrvError)."""
    calls: list[int] = []
    script: dict[int, float | str] = {}

    def encode(src, dst, config):
        calls.append(config.quality)
        outcome = script[config.quality]
        if isinstance(outcome, str):
            raise InrvError(outcome)
        return _result(dst, outcome)

    monkeypatch.setattr(codec, "encode", encode)
    return script, calls


def test_audit_records_points_marks_falls_and_failures_and_resumes(tmp_path, carphone_small, scripted):
    script, calls = scripted
    script.update({1: 25.0, 2: 27.0, 3: 26.0, 4: "decoded 11.0 dB lies 20.0 dB under the best"})
    results = tmp_path / "audit.jsonl"
    points = audit.run_audit(["nerv"], [carphone_small], [1, 2, 3, 4], results, tmp_path / "work")
    assert calls == [1, 2, 3, 4]
    assert [p.level for p in points] == [1, 2, 3, 4]
    assert points[3].failed and math.isnan(points[3].psnr) and "20.0 dB" in points[3].error
    falls = audit.falls(points)
    assert [(lo.level, hi.level) for lo, hi in falls] == [(2, 3), (3, 4)]
    assert audit.falls(points, tolerance=1.5) == [(points[2], points[3])]  # 26 within 1.5 dB of 27
    text = audit.table(points)
    assert "failed points:" in text and "2 level(s) under" in text
    assert list(tmp_path.glob("work/*.inrv")) == []  # files are measured, not kept
    # the same command again encodes nothing; the report reads the file alone
    again = audit.run_audit(["nerv"], [carphone_small], [1, 2, 3, 4], results, tmp_path / "work")
    assert calls == [1, 2, 3, 4] and again == points
    assert audit.table(audit.load(results)) == text


def test_a_point_records_whether_a_guard_fired(tmp_path, carphone_small, monkeypatch):
    """restarts, the end check's restore and the final check's retry are kept with the point: a
    point where none fired is its own "before" (no unguarded run needed); a family that reports no
    guard figures (no best training PSNR) records None, and so do points written before the fields."""
    outcomes = {
        1: dict(train_psnr=30.0, best_train_psnr=30.5),
        2: dict(train_psnr=30.0, best_train_psnr=31.0, restored=True),
        3: dict(train_psnr=30.0, best_train_psnr=31.0, restarts=2),
        4: dict(train_psnr=30.0, best_train_psnr=31.0, retries=1),
        5: dict(train_psnr=30.0),
    }
    monkeypatch.setattr(codec, "encode", lambda src, dst, config: _result(dst, 30.0, **outcomes[config.quality]))
    results = tmp_path / "audit.jsonl"
    points = audit.run_audit(["nerv"], [carphone_small], [1, 2, 3, 4, 5], results, tmp_path / "work")
    assert [(p.restarts, p.restored, p.retries) for p in points] == [
        (0, False, 0), (0, True, 0), (2, False, 0), (0, False, 1), (None, None, 0)]
    assert [p.guarded_as_before for p in points] == [True, False, False, False, None]
    text = audit.table(points)
    assert [line.split()[8] for line in text.splitlines()[1:6]] == ["no", "yes", "yes", "yes", "-"]
    assert "nerv carphone q2: end check restored the best snapshot" in text
    assert "nerv carphone q3: 2 restart(s)" in text and "q4: final check refused 1 file(s)" in text
    assert "1 with no guard fired" in text
    assert audit.load(results) == points
    old = '{"family": "hnerv", "clip": "bikes", "level": 1, "bpp": 0.05, "psnr": 31.0, "train_psnr": 33.3, ' \
          '"best_psnr": 31.5, "restarts": 0, "steps": 960, "seconds": 255.0, "error": null}'
    (tmp_path / "old.jsonl").write_text(old + "\n")
    (before,) = audit.load(tmp_path / "old.jsonl")
    assert before.restored is None and before.guarded_as_before is None


def test_prepare_clips_scales_to_a_width(tmp_path):
    (seq,) = audit.prepare_clips(["carphone"], tmp_path, width=96, frames=2)
    assert (seq.width, seq.height, seq.num_frames) == (96, 78, 2)  # 144 * 96 / 176 = 78.5 -> 78


@pytest.mark.slow
def test_every_level_ends_at_or_above_the_level_below(tmp_path):
    """The real ladders of every fitted family on carphone, 96 pixels wide, 8 frames (one thread):
    each level's file measures at least the PSNR of the level below's (about 20 minutes)."""
    sequences = audit.prepare_clips(["carphone"], tmp_path, width=96, frames=8)
    points = audit.run_audit(audit.FAMILIES, sequences, range(1, 9), tmp_path / "audit.jsonl", tmp_path / "work")
    print(audit.table(points))
    assert audit.falls(points) == [], audit.table(points)


def test_unguarded_switches_the_guards_and_the_final_check_off_and_back():
    from codec.finalcheck import Check
    from codec.registry import get_family
    from eval.collapse import unguarded

    hnerv = get_family("hnerv")
    refused = Check(psnr=11.0, best_train_psnr=32.6)
    assert hnerv.guarded and refused.verdict() is not None
    with unguarded("hnerv") as family:
        assert family is hnerv and not hnerv.guarded
        assert refused.verdict() is None  # the white video was kept before the final check
    assert hnerv.guarded and refused.verdict() is not None
    with pytest.raises(InrvError, match="cannot be switched off"):
        with unguarded("grid"):
            pass
    assert refused.verdict() is not None
