"""A point whose file the codec refused (codec.errors.EncodeRejected: a collapsed fit) is a failed
point of the sweep, listed with its message, never a rate point; the other points go on."""

from __future__ import annotations

import json

from codec.errors import EncodeRejected
from eval.cli import main
from eval.inrv import InrvMethod
from eval.results import load
from eval.sweep import SweepConfig, failed_path, result_path, run_sweep

REFUSED = "fake refused its file: it decodes to 10.97 dB, 21.6 dB under the best seen in training (32.60 dB)"


def _refuse_quality(fake, quality: int) -> None:
    encode = fake.encode

    def refusing(src, dst, config):
        if config.quality == quality:
            raise EncodeRejected(REFUSED)
        return encode(src, dst, config)

    fake.encode = refusing


def test_a_refused_encode_is_a_failed_point_and_the_sweep_goes_on(carphone_small, tmp_path, fake_codec,
                                                                    monkeypatch):
    import codec

    _refuse_quality(fake_codec, 4)
    monkeypatch.setattr(codec, "encode", fake_codec.encode)
    config = SweepConfig(out=tmp_path, dataset="folder", values={"fake": ("2", "4", "6")}, progress=False)
    outcome = run_sweep([carphone_small], [InrvMethod("fake")], config)
    assert outcome.failed == ({"sequence": "carphone", "method": "fake", "setting": {"quality": 4},
                               "error": REFUSED},)
    points = load(result_path(tmp_path, "folder", "carphone", "fake")).points
    assert [p.key for p in points] == ["quality=2", "quality=6"]  # no rate point for the refused one
    assert json.loads(failed_path(tmp_path, "folder").read_text()) == list(outcome.failed)


def test_the_cli_reports_the_failed_point(carphone_small, tmp_path, fake_codec, monkeypatch, capsys):
    import codec

    _refuse_quality(fake_codec, 3)
    monkeypatch.setattr(codec, "encode", fake_codec.encode)
    out = tmp_path / "run"
    main(["--files", f"carphone={carphone_small.path}", "--methods", "fake", "--values", "fake=3,5",
          "--out", str(out), "--no-progress"])
    assert "1 points failed" in capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert "## Failed points" in report and "21.6 dB under the best" in report
