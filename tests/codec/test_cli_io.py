"""What a newcomer meets at the command line (issue 37): pipes as x264 and ffmpeg take them, raw
YUV in and out, one-line usage errors naming the closest option, and a start that imports neither
torch nor numpy before the arguments and paths are checked."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import codec
from codec.cli import EXIT_CLOSED_PIPE, EXIT_USAGE, build_parser, main
from codec.config import EncodeConfig
from codec.video import open_video

QUICK = ["--model", "nerv", "--preset", "xs", "--steps", "3", "--quiet", "--threads", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def stream(tmp_path_factory, carphone_y4m) -> Path:
    """A 3-frame nerv stream of carphone."""
    path = tmp_path_factory.mktemp("streams") / "c.inrv"
    codec.encode(carphone_y4m, path, EncodeConfig.of("nerv", count=3, device="cpu", threads=1, progress=False,
                                                     preset="xs", steps=3))
    return path


# --- a fast start -----------------------------------------------------------------------------------

#: Commands that end before any encoding or decoding: help, version, usage errors, missing paths.
EARLY = [["--help"], ["--version"], ["encode", "--help"], ["encode", "{clip}", "-o", "x.inrv", "--stpes", "5"],
         ["encdoe", "{clip}"], ["encode", "nosuch.mp4", "-o", "x.inrv"], ["encode", "{clip}", "-o", "nosuchdir/x.inrv"],
         ["decode", "nosuch.inrv", "-o", "x.y4m"], ["info", "nosuch.inrv"], ["eval", "--methods", "nerv", "--stpes", "3"],
         ["encode", "{clip}", "-o", "x.inrv", "--model", "nerv", "--gop", "4"],
         ["pretrain", "--stpes", "5"], ["pretrain", "--steps", "0"], ["pretrain", "nosuchdir"], ["pretrain", "--help"]]


def test_parsing_and_checking_import_neither_torch_nor_numpy(tmp_path, carphone_y4m):
    """Before: every command imported torch to build its parser (1.7 s at least, 3.4-5.3 s measured
    for ``inrv --help`` on a loaded 2-core machine; ``inrv pretrain``'s until its defaults moved to a
    module without torch, 4.5-5.3 s); an argument error or a missing file now answers before numpy
    or torch is imported."""
    script = ("import json, sys\nfrom codec.cli import main\nout = []\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
              "    out.append(sorted(m for m in ('torch', 'numpy', 'bitstream') if m in sys.modules))\n"
              "print(json.dumps(out))")
    commands = [[a.format(clip=carphone_y4m) for a in argv] for argv in EARLY]
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.splitlines()[-1])
    assert loaded == [[]] * len(EARLY), list(zip(EARLY, loaded))
    assert list(tmp_path.iterdir()) == []


def test_help_and_version_build_no_command_options(tmp_path):
    """``inrv --help`` and ``--version`` name the commands without building their options (encode's
    read every family's declaration: codec.config, codec.registry): 0.30 -> 0.22 s and 0.25 ->
    0.15 s measured on a loaded 2-core machine. The listing is the full parser's, plugins included."""
    assert build_parser(plugins=False, full=[]).format_help() == build_parser(plugins=False).format_help()
    script = ("import sys\nfrom codec.cli import main\n"
              "for argv in (['--help'], ['--version']):\n    try:\n        main(argv)\n    except SystemExit:\n"
              "        pass\nprint(sorted(m for m in ('codec.config', 'codec.registry') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "[]" and any(line.split()[:1] == ["eval"] for line in lines), proc.stdout

# --- one-line usage errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, line", [
    (["encode", "{clip}", "-o", "{out}", "--stpes", "5"], "inrv encode: error: unknown option --stpes: did you mean --steps?"),
    (["encode", "{clip}", "-o", "{out}", "--qualty=3"], "inrv encode: error: unknown option --qualty: did you mean --quality?"),
    (["decode", "{clip}", "-o", "{out}", "--frmes", "0:2"], "inrv decode: error: unknown option --frmes: did you mean --frames?"),
    (["encdoe", "{clip}"], "inrv: error: unknown command 'encdoe': did you mean 'encode'?"),
    (["eval", "--methods", "nerv", "--stpes", "3"], "inrv eval: error: unknown option --stpes: did you mean --steps?"),
    (["pretrain", "--stpes", "3"], "inrv pretrain: error: unknown option --stpes: did you mean --steps?"),
    (["encode", "{clip}", "-o", "{out}", "--size", "176"],
     "inrv encode: error: argument --size: expected WIDTHxHEIGHT such as 1920x1080, got '176'"),
    (["encode", "{clip}"], "inrv encode: error: the following arguments are required: -o/--output"),
])
def test_a_usage_error_is_one_line_naming_the_closest_option(tmp_path, carphone_y4m, capsys, args, line):
    """Before: argparse's usage block, then 'unrecognized arguments: --stpes 5', no suggestion."""
    assert main([a.format(clip=carphone_y4m, out=tmp_path / "x.inrv") for a in args]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [line] and captured.out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, status, line", [
    (["--files", "{bad}", "--methods", "nerv", "--out", "{out}"], 1, "inrv eval: error: cannot read {bad}: "),
    (["--files", "{missing}", "--methods", "nerv", "--out", "{out}"], 1, "inrv eval: error: {missing}: no such file"),
    (["--methods", "nerv", "--stpes", "3"], EXIT_USAGE, "inrv eval: error: unknown option --stpes: did you mean --steps?"),
    (["--methods", "nope", "--out", "{out}"], EXIT_USAGE, "inrv eval: error: unknown method 'nope'; available: "),
    (["--methods", "nerv", "--points", "0", "--out", "{out}"], EXIT_USAGE, "inrv eval: error: --points must be >= 1"),
])
@pytest.mark.parametrize("through", ["inrv", "eval.cli"])
def test_eval_exits_with_the_documented_status(tmp_path, capsys, args, status, line, through):
    """``inrv eval`` and ``python -m eval.cli``: an input that cannot be read is 1, a usage error 2,
    one line each. Before: 2 for every error."""
    from eval.cli import main as eval_main

    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    names = {"bad": tmp_path / "bad.mp4", "missing": tmp_path / "nosuch.mp4", "out": tmp_path / "out"}
    argv = [a.format(**names) for a in args]
    assert (main(["eval", *argv]) if through == "inrv" else eval_main(argv)) == status
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith(line.format(**names)), captured.err
    assert captured.out == "" and [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]

def test_encode_into_a_missing_folder_says_so_as_decode_does(tmp_path, carphone_y4m, stream, capsys):
    """Before: 'inrv: error: [Errno 2] No such file or directory: 'nosuchdir/.x.inrv.833dcadc.part''
    after the training."""
    out = tmp_path / "nosuchdir" / "x.inrv"
    assert main(["encode", str(carphone_y4m), "-o", str(out), *QUICK]) == 1
    assert capsys.readouterr().err.splitlines() == [f"inrv: error: {out}: folder {out.parent} does not exist"]
    decoded = tmp_path / "nosuchdir" / "x.y4m"
    assert main(["decode", str(stream), "-o", str(decoded)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"inrv: error: {decoded}: folder {decoded.parent} does not exist"]


# --- pipes -----------------------------------------------------------------------------------------------

def _stdio(monkeypatch, stdin: bytes = b"") -> io.BytesIO:
    """Standard input holding ``stdin``, standard output into the returned buffer."""
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, write_through=True))
    return out


def test_encode_from_a_pipe_to_a_pipe_writes_the_bytes_of_a_file_encode(tmp_path, carphone_y4m, monkeypatch,
                                                                        capsys):
    """``inrv encode - -o -``: Y4M in, the stream out, the summary on stderr; the same bytes as the
    encode of the file (the frames are the same). Before: 'no such file or folder: -'."""
    args = ["--frames", "0:3", *QUICK]
    assert main(["encode", str(carphone_y4m), "-o", str(tmp_path / "file.inrv"), *args]) == 0
    monkeypatch.chdir(tmp_path)
    out = _stdio(monkeypatch, carphone_y4m.read_bytes())
    assert main(["encode", "-", "-o", "-", *args]) == 0
    assert out.getvalue() == (tmp_path / "file.inrv").read_bytes()
    err = capsys.readouterr().err
    assert "wrote standard output" in err and "PSNR-RGB" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.inrv"]  # nothing else left


def test_decode_to_a_pipe_gives_the_frames_of_a_decode_to_a_file(tmp_path, stream, monkeypatch, capsys):
    """``inrv decode S -o -``: Y4M on standard output, the line on stderr. Before: a PNG folder
    named '-'."""
    assert main(["decode", str(stream), "-o", str(tmp_path / "file.y4m")]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    out = _stdio(monkeypatch)
    assert main(["decode", str(stream), "-o", "-"]) == 0
    assert out.getvalue() == (tmp_path / "file.y4m").read_bytes()
    assert capsys.readouterr().err.startswith("wrote standard output: frames 0..2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.y4m"]


@pytest.mark.parametrize("args", [["info", "{stream}"], ["decode", "{stream}", "-o", "-"]])
def test_a_closed_pipe_ends_a_command_quietly(tmp_path, stream, monkeypatch, capsys, args):
    """Before: ``inrv info S | head`` printed 'inrv: error: [Errno 32] Broken pipe'."""
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first byte
    with open(write, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main([a.format(stream=stream) for a in args]) == EXIT_CLOSED_PIPE
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_ends_the_process_quietly(tmp_path, stream):
    """The same through a real pipe, to the interpreter's exit (its last flush says nothing)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "codec.cli", "decode", str(stream), "-o", "-"], stdout=write,
                              stderr=subprocess.PIPE, cwd=tmp_path, timeout=300)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (EXIT_CLOSED_PIPE, b"")
    assert list(tmp_path.iterdir()) == []


def test_decode_and_info_read_a_stream_from_standard_input(tmp_path, stream, monkeypatch, capsys):
    """``inrv decode - -o OUT`` and ``inrv info -``: the stream on standard input (copied into a
    temporary file, removed at the end) gives the frames and the account of the file read from it.
    Before: 'no such file: -'."""
    assert main(["decode", str(stream), "-o", str(tmp_path / "file.y4m")]) == 0
    assert main(["info", str(stream), "--verify"]) == 0
    info = capsys.readouterr().out.split("\n", 1)[1].splitlines()[1:]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the temporary file is made (and left) here
    out = _stdio(monkeypatch, stream.read_bytes())
    assert main(["decode", "-", "-o", str(tmp_path / "pipe.y4m")]) == 0
    assert (tmp_path / "pipe.y4m").read_bytes() == (tmp_path / "file.y4m").read_bytes()
    out = _stdio(monkeypatch, stream.read_bytes())
    assert main(["info", "-", "--verify"]) == 0
    first, *rest = out.getvalue().decode().splitlines()
    assert first == f"file      standard input ({stream.stat().st_size} bytes)" and rest == info
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.y4m", "pipe.y4m"]


@pytest.mark.parametrize("command", ["decode", "info"])
@pytest.mark.parametrize("stdin, line", [
    (b"", "inrv: error: standard input is empty: pipe a .inrv stream into it"),
    (b"not a stream", "inrv: invalid stream: not an inrv stream (bad magic)"),
    ("head", "inrv: invalid stream: truncated chunk"),
    ("whole", "inrv: error: standard input holds more than 1 kB: pass the stream as a file"),
    ("terminal", "inrv: error: standard input is a terminal: pipe a .inrv stream into it"),
])
def test_a_bad_stream_on_standard_input_is_one_line_and_leaves_nothing(tmp_path, stream, monkeypatch, capsys,
                                                                        command, stdin, line):
    data = stream.read_bytes()
    monkeypatch.setattr("codec.cli.MAX_PIPED_STREAM", 1000)  # the stream is 10 times as large
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    _stdio(monkeypatch, {"head": data[:100], "whole": data, "terminal": b""}.get(stdin, stdin))
    if stdin == "terminal":
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main([command, "-", *(["-o", "x.y4m"] if command == "decode" else [])]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines
    assert list(tmp_path.iterdir()) == []

def test_a_short_pipe_is_one_line_and_leaves_nothing(tmp_path, carphone_y4m, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = carphone_y4m.read_bytes()
    for stdin, args, message in ((data[:len(data) // 2], [], "standard input: the stream ended inside frame 2"),
                                 (b"not y4m", [], "not a YUV4MPEG2 file"),
                                 (data, ["--frames", "0:20"], "the stream ended after 6 frames; frames 0..19")):
        _stdio(monkeypatch, stdin)
        assert main(["encode", "-", "-o", "x.inrv", *QUICK, *args]) == 1
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []


# --- raw YUV in and out ----------------------------------------------------------------------------------

def test_raw_yuv_with_size_and_fps_and_its_decode_read_back(tmp_path, carphone_y4m, capsys):
    """``--size WxH --fps N/D`` read a raw file whose name states nothing; a decoded ``.yuv`` says
    what to pass to read it back, and that works."""
    with open_video(carphone_y4m) as video:
        (tmp_path / "clip.yuv").write_bytes(video.read_yuv(0, 3).to_i420().tobytes())
    assert main(["encode", str(tmp_path / "clip.yuv"), "-o", str(tmp_path / "a.inrv"), *QUICK]) == 1
    assert "pass --size WxH and --fps N" in capsys.readouterr().err
    assert main(["encode", str(tmp_path / "clip.yuv"), "-o", str(tmp_path / "a.inrv"), "--size", "176x144",
                 "--fps", "30000/1001", *QUICK]) == 0
    with codec.open(tmp_path / "a.inrv") as coded:
        assert (coded.info.width, coded.info.height, coded.info.num_frames, str(coded.info.fps)) == (
            176, 144, 3, "30000/1001")
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "a.inrv"), "-o", str(tmp_path / "back.yuv")]) == 0
    note = capsys.readouterr().out.splitlines()[-1]
    assert note.endswith("read it back with --size 176x144 --fps 30000/1001")
    assert main(["encode", str(tmp_path / "back.yuv"), "-o", str(tmp_path / "b.inrv"),
                 *note.split("with ")[-1].split(), *QUICK]) == 0
    # a name stating the geometry needs nothing; a name stating another one is refused
    assert main(["decode", str(tmp_path / "a.inrv"), "-o", str(tmp_path / "d_352x288.yuv")]) == 1
    assert "the name says 352x288" in capsys.readouterr().err
    assert not (tmp_path / "d_352x288.yuv").exists()
