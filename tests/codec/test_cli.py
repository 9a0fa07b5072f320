"""The ``inrv`` command line: one-line errors, non-zero exits, no half-written outputs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codec.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codec.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "inrv" in capsys.readouterr().out
    assert main([]) == 2


def test_encode_info_decode(tmp_path, carphone_y4m, capsys):
    out = tmp_path / "c.inrv"
    rc = main(["encode", str(carphone_y4m), "-o", str(out), "--model", "nerv", "--preset", "xs",
               "--steps", "5", "--frames", "0:3", "--quiet", "--device", "cpu"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "bpp" in text and "PSNR-RGB" in text
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "network" in info and "header" in info and str(out.stat().st_size) in info
    assert main(["decode", str(out), "-o", str(tmp_path / "d"), "--frames", "1:2"]) == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["frame_00000.png", "frame_00001.png"]


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "{clip}", "-o", "{out}", "--quality", "9"],
        ["encode", "{clip}", "-o", "{out}", "--frames", "100:5"],
        ["encode", "{missing}", "-o", "{out}"],
        ["encode", "{garbage}", "-o", "{out}"],
        ["encode", "{clip}", "-o", "{out}", "--device", "cuda:7"],
        ["encode", "{clip}", "-o", "{out}", "--model", "nerv", "--gop", "8"],
        ["decode", "{garbage}", "-o", "{out}.y4m"],
        ["info", "{garbage}"],
    ],
)
def test_errors_are_one_line_and_leave_nothing(tmp_path, carphone_y4m, args):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"INRV\x01" + bytes(range(256)))
    fill = dict(clip=carphone_y4m, out=tmp_path / "out.inrv", missing=tmp_path / "nope.mp4",
                garbage=garbage)
    before = set(tmp_path.iterdir())
    proc = _run(*[a.format(**fill) for a in args])
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("inrv: ")
    assert "Traceback" not in proc.stderr
    assert set(tmp_path.iterdir()) == before


def test_debug_shows_traceback(tmp_path):
    proc = _run("--debug", "info", str(tmp_path / "missing.inrv"))
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_eval_is_found_through_its_entry_point(capsys):
    """``inrv eval`` comes from the ``inrv.commands`` entry point (codec never imports eval)."""
    assert main(["eval", "--methods", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert "nerv" in listed and "x265-medium" in listed
