"""Decoding in bounded memory (issue 36): the decode memory limit (``--max-memory``) checked from the
header and config before anything is allocated, ``inrv info`` that decodes no values, one decode line
for every allocation failure torch or numpy raise, and each family's stated need against what its
decoder uses."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import codec
from codec.errors import ConfigError, DecodeOutOfMemory
from codec.family import Decoder
from codec.memory import default_max_memory, format_bytes, is_out_of_memory, machine_memory, memory_limit, parse_size
from codec.registry import family_names, get_family
from codec.streaminfo import describe_stream

DATA = Path(__file__).parent / "data"


def golden(family: str) -> Path:
    """The family's golden stream: 4 frames of 48x40."""
    return DATA / f"{family}_v1.inrv"


def allocation_failures() -> list[BaseException]:
    """Every kind of allocation failure torch and numpy raise, as they word them."""
    from numpy.core._exceptions import _ArrayMemoryError

    return [
        MemoryError(),
        _ArrayMemoryError((2**40,), np.dtype(np.float64)),
        RuntimeError("[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: not enough memory: you "
                     "tried to allocate 25769803776 bytes."),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 25769803776 bytes. "
                     "Error code 12 (Cannot allocate memory)"),
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 24.00 GiB (GPU 0; 79.15 GiB total capacity)"),
        RuntimeError("CUDA error: out of memory"),
    ]


def test_sizes_as_users_write_them():
    assert parse_size("2G") == 2 * 2**30 and parse_size("512M") == 512 * 2**20 and parse_size("1.5GiB") == 3 * 2**29
    assert parse_size("0") == 0 and parse_size("auto") == "auto" and parse_size("4096") == 4096
    for bad in ("lots", "-1G", "G", "nanG"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert memory_limit(None) is None and memory_limit(0) is None and memory_limit(5) == 5
    assert 0 < memory_limit("auto") == default_max_memory() <= machine_memory() // 2
    assert format_bytes(3.1e9) == "3.1 GB" and format_bytes(640e6) == "640 MB"


@pytest.mark.parametrize("exc", allocation_failures(), ids=lambda e: type(e).__name__)
def test_allocation_failures_are_recognised(exc):
    assert is_out_of_memory(exc)


def test_other_errors_are_not_allocation_failures():
    for exc in (RuntimeError("shape mismatch"), ValueError("out of memory"), ConfigError("x"), KeyError("alloc")):
        assert not is_out_of_memory(exc)


class RaisingDecoder(Decoder):
    """A decoder double whose rendering fails as an allocation does."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def render(self, start, stop):
        raise self.exc
        yield  # pragma: no cover - a generator, as decoders are


@pytest.mark.parametrize("exc", allocation_failures(), ids=lambda e: type(e).__name__)
def test_out_of_memory_while_decoding_is_one_decode_line(exc, monkeypatch, capsys, tmp_path):
    """Before: a MemoryError gave encode advice (--preset), a torch allocator error 'internal error'."""
    from codec.cli import main

    monkeypatch.setattr(get_family("nerv"), "decoder", lambda *args: RaisingDecoder(exc))
    out = tmp_path / "out.y4m"
    assert main(["decode", str(golden("nerv")), "-o", str(out), "--threads", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("inrv: error: out of memory decoding nerv_v1.inrv (nerv, 4 frames of 48x40, frames 0..3")
    assert "--frames" in line and "--max-pixels" in line
    assert "internal error" not in line and "--preset" not in line
    assert not out.exists() and not list(tmp_path.iterdir())  # no partial output

    with pytest.raises(DecodeOutOfMemory, match="frames 1..2"), codec.open(golden("nerv"), device="cpu") as coded:
        list(coded.frames(1, 3))
    assert main(["info", str(golden("nerv")), "--verify"]) == 1
    assert capsys.readouterr().err.startswith("inrv: error: out of memory decoding nerv_v1.inrv")


def test_out_of_memory_outside_the_decoder_names_the_command(monkeypatch, capsys, tmp_path):
    """An allocation failure the API does not catch (in the writer, say) still gets a decode line
    from ``inrv decode`` and the encode advice from ``inrv encode`` only."""
    from codec.cli import main

    def exhausted(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes")

    monkeypatch.setattr(codec, "decode", exhausted)
    monkeypatch.setattr(codec, "encode", exhausted)
    assert main(["decode", str(golden("nerv")), "-o", str(tmp_path / "o.y4m")]) == 1
    assert capsys.readouterr().err.strip() == ("inrv: error: out of memory while decoding: decode fewer frames at once "
                                               "(--frames START:COUNT), or refuse such streams before decoding "
                                               "(--max-pixels N, --max-memory SIZE)")
    assert main(["encode", str(golden("nerv")), "-o", str(tmp_path / "e.inrv")]) == 1
    assert "--preset" in capsys.readouterr().err


@pytest.mark.parametrize("family", family_names())
def test_every_family_states_its_decode_memory(family):
    """From the config and geometry alone: a positive figure that grows with the frame."""
    with codec.open(golden(family), device="cpu") as coded:
        small = coded.decode_memory()
        fam, config, geometry = coded.family, coded.config, coded.geometry
    big = fam.decode_memory(config, type(geometry)(geometry.width * 8, geometry.height * 8, geometry.num_frames,
                                                   geometry.fps))
    assert 0 < small < big


def test_a_stream_over_the_memory_limit_is_refused_before_anything_is_allocated(monkeypatch, capsys, tmp_path):
    from codec.cli import main

    def never(*args):
        raise AssertionError("the decoder was built")

    monkeypatch.setattr(get_family("teconerv"), "decoder", never)
    stream = golden("teconerv")
    with codec.open(stream, device="cpu") as coded:
        need = coded.decode_memory()
    with pytest.raises(ConfigError, match=r"decoding needs about .* over the limit of .*--max-memory"):
        codec.decode(stream, tmp_path / "o.y4m", max_memory=need - 1)
    with pytest.raises(ConfigError, match="--max-memory"), codec.open(stream, device="cpu", max_memory=need // 2) as coded:
        next(coded.frames())
    assert main(["decode", str(stream), "-o", str(tmp_path / "o.y4m"), "--max-memory", "1M"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"inrv: error: decoding needs about {format_bytes(need)} of memory "
                                               "(teconerv, 48x40), over the limit of 1.05 MB")
    assert main(["info", str(stream), "--verify", "--max-memory", "1M"]) == 1
    assert "--max-memory" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    try:
        status = main(["decode", str(stream), "-o", str(tmp_path / "o.y4m"), "--max-memory", "plenty"])
    except SystemExit as exc:  # argparse's usage error
        status = exc.code
    assert status == 2 and "expected a size such as 2G" in capsys.readouterr().err


def test_a_stream_within_the_limit_decodes(tmp_path):
    with codec.open(golden("teconerv"), device="cpu") as coded:
        need = coded.decode_memory()
    r = codec.decode(golden("teconerv"), tmp_path / "o.y4m", max_memory=need, threads=1)
    assert r.num_frames == 4
    assert codec.decode(golden("teconerv"), tmp_path / "p.y4m", max_memory=None, threads=1).num_frames == 4


@pytest.mark.parametrize("family, reader", [("teconerv", "codec.families.teconerv.info.read_segment"),
                                            ("nirvana", "codec.families.nirvana.info.read_group")])
def test_info_decodes_no_values(family, reader, monkeypatch):
    """inrv info reads sizes and chunk heads; the records' values only with --verify (values=True)."""
    import importlib

    module, _, name = reader.rpartition(".")
    real = getattr(importlib.import_module(module), name)
    calls = []
    monkeypatch.setattr(importlib.import_module(module), name, lambda *a, **k: calls.append(1) or real(*a, **k))
    text = describe_stream(golden(family))
    assert not calls and "nonzero" not in text
    assert "memory    decoding needs about" in text
    text = describe_stream(golden(family), values=True)
    assert calls and "nonzero" in text


def teconerv_stream(path: Path, width: int, height: int, segments: int) -> Path:
    """The golden teconerv stream (one segment chunk, coded directly) at ``width x height``, its
    tubelets repeated (:func:`eval.decode_memory.reheaded`), its chunk repeated for ``segments``
    segments: 8 frames each but the last's 4."""
    import dataclasses

    from bitstream import StreamReader, encode_stream
    from eval.decode_memory import reheaded

    small = path.with_suffix(".small.inrv")
    small.write_bytes(reheaded("teconerv", golden("teconerv"), width, height))
    with StreamReader(small) as reader:
        header, chunks = reader.header, [(info.kind, payload) for info, payload in reader.iter_chunks()]
    path.write_bytes(encode_stream(dataclasses.replace(header, num_frames=8 * segments - 4), chunks * segments))
    return path


@pytest.mark.parametrize("width, height, tubelets", [(48, 40, 1), (960, 64, 17)])
def test_teconerv_renders_the_frames_asked_for_bit_for_bit(width, height, tubelets, tmp_path, monkeypatch):
    """teconerv renders only the frames asked for, a few at a time (:func:`codec.tools.tiles.frames_at_once`:
    one at a time from 4320p), each tubelet over those frames only: the frames a render of whole
    segments gives, bit for bit (48x40: one tubelet, batches of one; 960x64: a batch of 16 and one
    of 1; two segments, of 8 and 4 frames). Before, a one-frame decode rendered its whole segment:
    8 frames of every tubelet."""
    from codec.families.teconerv.net import HypoNet
    from codec.tools import tiles

    torch.set_num_threads(1)
    path = teconerv_stream(tmp_path / "s.inrv", width, height, segments=2)

    def decode(start: int = 0, stop: int = 12) -> np.ndarray:
        with codec.open(path, device="cpu") as coded:
            assert coded.decoder.grid.count == tubelets
            return np.stack(list(coded.frames(start, stop)))

    whole = decode()
    assert whole.shape == (12, height, width, 3)
    rendered = []
    forward = HypoNet.forward
    monkeypatch.setattr(HypoNet, "forward", lambda self, mods, frames=None, first=0, stop=None: (
        rendered.append((mods[0].shape[0], (stop or frames) - first)) or forward(self, mods, frames, first, stop)))
    for per in (1, 3):
        monkeypatch.setattr(tiles, "CANVAS_PIXELS", per * width * height)
        assert np.array_equal(decode(), whole)
        for k in (0, 5, 7, 8, 11):
            rendered.clear()
            assert np.array_equal(decode(k, k + 1)[0], whole[k])
            # one frame of each tubelet; two of a batch of one (the kernel of a whole segment's render)
            assert sum(b * n for b, n in rendered) == tubelets + (tubelets % 16 == 1), rendered
        assert np.array_equal(decode(6, 10), whole[6:10])


@pytest.mark.parametrize("family, options, apart", [("nerv", {}, True), ("nerv", {"sft": True, "sin_block": True}, True),
                                                    ("hnerv", {}, False), ("hnerv", {"nervpp": True, "sft": True}, False)])
def test_a_network_renders_the_frames_asked_for_bit_for_bit(family, options, apart, tmp_path, monkeypatch):
    """A trunk without 1x1 convolutions (nerv's, with or without Boosting-NeRV's affine blocks and
    sine; ``frames_apart``) renders a batch over the frames asked for only, two at least
    (:func:`codec.tools.tiles.batch_span`), others (hnerv's first stage of kernel 1, NeRV++) the
    whole batch: one frame is the frame a decode of every frame gives, bit for bit, in strips or
    whole (random codes: 6 frames, batches of 4 and 2). Before, every one-frame decode rendered its
    whole batch of 4. (Strips against whole frames: the contract suite.)"""
    import codec.tools.wholeclip as wholeclip
    from bitstream import StreamReader
    from codec.tools import tiles
    from eval.decode_memory import _random_network

    torch.set_num_threads(1)
    with StreamReader(golden(family)) as reader:
        header = reader.header
    path = tmp_path / "s.inrv"
    path.write_bytes(_random_network(family, dataclasses.replace(header, num_frames=6), 96, 64, 36, options))

    def decode(start: int = 0, stop: int = 6) -> np.ndarray:
        with codec.open(path, device="cpu") as coded:
            return np.stack(list(coded.frames(start, stop)))

    rendered = []
    prefix = wholeclip.whole_prefix
    monkeypatch.setattr(wholeclip, "whole_prefix", lambda stages, x: rendered.append(len(x)) or prefix(stages, x))
    for pixels in (None, 96 * 5):
        with tiles.strip_pixels(pixels):
            whole = decode()
            assert whole.shape == (6, 64, 96, 3) and len(np.unique(whole)) > 64
            for k in range(6):
                rendered.clear()
                assert np.array_equal(decode(k, k + 1)[0], whole[k]), (pixels, k)
                assert rendered == [2 if apart or k > 3 else 4], rendered
            assert np.array_equal(decode(1, 3), whole[1:3])


def test_codes_are_added_in_bounded_memory_and_held_narrow(monkeypatch):
    """:func:`codec.tools.chain.add_code`: :func:`add_codes`' sums and errors, a chunk of values
    at a time, held in the narrowest integer type."""
    import codec.tools.chain as chain
    from bitstream import BitstreamError
    from bitstream.tensor import MAX_CODE

    monkeypatch.setattr(chain, "ADD_CHUNK", 3)
    rng = np.random.default_rng(36)
    for high, dtype in ((60, np.int8), (16_000, np.int16), (2**29, np.int32)):
        values = rng.integers(-high, high, size=(5, 2), dtype=np.int32)
        base = rng.integers(-high // 2, high // 2, size=(5, 2)).astype(dtype)
        for code in (None, base):
            want = chain.add_codes(None if code is None else [code.astype(np.int64)], [values.astype(np.int64)],
                                   "codes")[0]
            got = chain.add_code(code, values.copy(), "codes")
            assert np.array_equal(got, want) and got.shape == values.shape
            assert got.dtype == next(t for t in (np.int8, np.int16, np.int32)
                                     if np.iinfo(t).min <= want.min() and want.max() <= np.iinfo(t).max)
    values = np.full(4, 2**20, dtype=np.int32)
    assert chain.add_code(None, values, "codes") is values  # int32 codes: the record's own array
    for code, value in ((2**30 - 1, 1), (2**30 - 1, 2**31 - 1), (-(2**30) + 1, -(2**31)), (None, -MAX_CODE)):
        base = None if code is None else np.array([0, 0, 0, code], dtype=np.int32)
        with pytest.raises(BitstreamError, match="codes out of range"):
            chain.add_code(base, np.array([0, 0, 0, value], dtype=np.int32), "codes", 4)
    assert chain.keep_for(1) == chain.KEEP and chain.keep_for(chain.KEEP_BYTES // 2) == 2
    assert chain.keep_for(chain.KEEP_BYTES) == chain.keep_for(10 * chain.KEEP_BYTES) == 1


MEASURE = """
import json, sys, torch
from pathlib import Path
torch.set_num_threads(1)
import codec

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

warm, path, *frame_range = sys.argv[1:]
with codec.open(warm, device="cpu", max_memory=None) as coded:  # the modules and torch's kernels loaded
    list(coded.frames())
    coded.decode_memory()
with codec.open(path, device="cpu", max_memory=None) as coded:
    need = coded.decode_memory()
    base = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here
    frames = sum(1 for _ in coded.frames(*map(int, frame_range)))
    used, peak = status("VmHWM") - base, status("VmHWM")
print(json.dumps({"need": need, "used": used, "peak": peak, "frames": frames}))
"""


def measured_need(stream: Path, family: str, frames: tuple[int, int] | None = None) -> dict:
    """What decoding ``stream`` (``frames``: that range, ``start, stop``; default all) takes
    (resident memory over the process's, after a warm-up decode of the family's golden stream; the
    process's peak) and what its family states, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(golden(family)), str(stream), *map(str, frames or ())],
                         capture_output=True, text=True, check=True,
                         env={"INRV_THREADS": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


#: Resident memory a decode may take past its family's figure: the allocator's own slack.
SLACK = 16 * 2**20


@pytest.mark.slow
@pytest.mark.parametrize("family", family_names())
def test_a_family_states_at_least_what_its_decoder_uses(family, tmp_path):
    """The family's stream at 1280x720 (eval.decode_memory.make_streams: a short carphone encode
    re-headed, or made for the size), every frame decoded: the resident memory the decode adds
    stays within the family's figure (measured, stated: nerv 59 of 262 MB, hnerv 78 of 270,
    nirvana 14 of 149, teconerv 186 of 378, grid 71 of 359, motion 137 of 267; at 2160p nerv 291
    of 537, hnerv 483 of 549, nirvana 104 of 237, teconerv 461 of 972, grid 150 of 493, motion 308
    of 546)."""
    from eval.decode_memory import make_streams

    [stream] = make_streams(tmp_path, [family], [("720p", 1280, 720)]).values()
    result = measured_need(stream, family)
    assert result["used"] <= result["need"] + SLACK, result
# --------------------------------------------------------------------------------- reproducers
#: Tiny CRC-valid streams whose headers claim huge frames (issue 36): before, grid_00791 decoded to
#: 3.1 GB and encode advice, H1a ran out of memory, H4b took 22 s and 3.5 GB to an "internal error",
#: and ``inrv info`` took 10.6 s and 3.1 GB on H4a and ran out of memory on H4d. Under the data cap
#: below each ends in one line; H4b, a valid stream within the default limit of a larger machine,
#: decodes there (:func:`test_h4b_decodes_within_its_stated_bound`).
REPRO = sorted((DATA / "repro").glob("*.inrv"))
#: The cap on the command's data segment (``ulimit -d``: heap and anonymous mappings, where numpy's
#: and torch's arrays live; RLIMIT_AS cannot be used: torch's import maps 3.3 GB of address space)
#: and the time it may take, on a busy 2-core machine (the import of torch alone takes 2-3 s there).
DATA_CAP, TIME_CAP = 1536 * 2**20, 30.0


#: Runs ``inrv COMMAND`` on each stream given, as ``python -m codec.cli`` does (its ``main``), in
#: one process: the exit status, stderr lines and seconds of each, as JSON.
DRIVER = """
import contextlib, io, json, sys, time
from codec.cli import main
command, out, extra, streams = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
results = []
for i, stream in enumerate(streams):
    err, start = io.StringIO(), time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([command, stream] + (["-o", f"{out}/{i}.y4m"] if command == "decode" else []) + extra)
    results.append({"status": status, "err": err.getvalue().strip().splitlines(),
                    "seconds": time.monotonic() - start})
print(json.dumps(results))
"""


def run_capped(command: str, streams: list[Path], tmp_path: Path, extra: list[str] = (),
               data_cap: int = DATA_CAP) -> tuple[list[dict], float, float]:
    """``inrv COMMAND STREAM [EXTRA]`` for each stream in one process whose data segment is capped at
    ``data_cap``, killed after :data:`TIME_CAP` seconds: each run's status, stderr lines and
    seconds, the process's seconds and its peak resident memory in MB."""
    import os
    import resource
    import threading
    import time

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (data_cap, data_cap))

    out = tmp_path / "stdout"
    start = time.monotonic()
    with open(out, "w") as stdout:
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, command, str(tmp_path), json.dumps(list(extra)),
                                 *map(str, streams)],
                                stdout=stdout, stderr=subprocess.DEVNULL, preexec_fn=cap,
                                env={**os.environ, "INRV_THREADS": "1"})
        timer = threading.Timer(TIME_CAP, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest child's
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, f"the driver ended with {proc.returncode}"
    return json.loads(out.read_text()), time.monotonic() - start, usage.ru_maxrss / 1024


def test_the_reproducers_end_in_one_line_within_a_memory_cap(tmp_path):
    results, seconds, peak_mb = run_capped("decode", REPRO, tmp_path)
    assert seconds < TIME_CAP and peak_mb < 1024, (seconds, peak_mb)
    for stream, result in zip(REPRO, results):
        err = result["err"]
        assert result["status"] == 1 and len(err) == 1, (stream.name, err)
        assert err[0].startswith(("inrv: error: decoding needs about", "inrv: invalid stream:")), err
        assert "internal error" not in err[0] and "--preset" not in err[0]
    assert not list(tmp_path.glob("*.y4m"))


@pytest.mark.parametrize("name, frames, what, data_cap", [
    ("H1a_grid_huge_latents.inrv", "0:1", "grid, 32 frames of 16384x16384, frames 0..0", DATA_CAP),
    ("H4b_teconerv_tubelets_under_cap.inrv", "0:2", "teconerv, 16 frames of 8000x8000, frames 0..1", 2**30)])
def test_a_real_allocation_failure_is_the_decode_line(name, frames, what, data_cap, tmp_path):
    """Without the memory limit (--max-memory 0), under a data cap, the decoders of H1a and H4b
    really run out of memory: one decode line, not encode advice. (H4b decodes under the 1.5 GiB
    cap since its codes are decoded a layer at a time and its frames rendered one at a time: it
    runs out under 1 GiB, where the interpreter with torch takes 0.75 of it.) A frame or two: the
    y4m of all 32 frames of H1a would need 12.9 GB of free disk before anything is decoded."""
    stream = DATA / "repro" / name
    [result], seconds, _ = run_capped("decode", [stream], tmp_path, ["--max-memory", "0", "--frames", frames],
                                      data_cap)
    assert seconds < TIME_CAP
    assert result["status"] == 1 and result["err"] == [
        f"inrv: error: out of memory decoding {stream.name} ({what}): decode fewer frames at once "
        "(--frames START:COUNT), or refuse such streams before decoding (--max-pixels N, --max-memory SIZE)"], result
    assert not list(tmp_path.glob("*.y4m"))


@pytest.mark.slow
@pytest.mark.parametrize("frame", [0, 8])
def test_h4b_decodes_within_its_stated_bound(frame):
    """H4b, a valid teconerv stream of 8000x8000 frames (62,001 tubelets of 64x64 overlapping by 32
    pixels, 115 million modulation values a segment), 16 frames, is within the default memory limit
    of a large machine and decodes: frame 0, and frame 8 (the second segment, its residuals added
    to the first's codes), each in a fresh process, within the figure its family states (2.26 GB:
    codes of 4 bytes a value; its codes take one) and in about 1 GB resident, the whole process
    (measured, MiB: frame 0 912, frame 8 1044, the interpreter with torch about 550 of it; frame
    8's peak is the second segment's codes being added, a layer of 71 million values decoded as
    int32 beside the first segment's). Before: 7.43 GB stated; frame 0 peaked at 1.95 GB and took
    380 s of CPU (its whole segment rendered, 8 frames), now 0.9 GB and 60 s; every frame 4.9 GB,
    now 1.24 GB (docs/data/decode-memory/report.md)."""
    stream = DATA / "repro" / "H4b_teconerv_tubelets_under_cap.inrv"
    result = measured_need(stream, "teconerv", (frame, frame + 1))
    assert result["frames"] == 1 and result["used"] <= result["need"] + SLACK, result
    assert result["peak"] < 1.1 * 2**30, result


def test_info_on_the_reproducers_allocates_nothing_the_header_claims(tmp_path):
    results, seconds, peak_mb = run_capped("info", REPRO, tmp_path)
    assert seconds < TIME_CAP and peak_mb < 1024, (seconds, peak_mb)
    for stream, result in zip(REPRO, results):
        assert result["status"] == 0 and not result["err"], (stream.name, result)


def test_info_without_the_weights_a_stream_needs(monkeypatch):
    """teconerv's figure needs its weights' hyponetwork; without them info still describes the stream."""
    import codec.families.teconerv.memory as memory

    def missing(wid):
        raise ConfigError(f"teconerv weights {wid.hex()} are not installed: pass --weights FILE")

    monkeypatch.setattr(memory, "load_id", missing)
    text = describe_stream(golden("teconerv"))
    assert "memory    decoding refused: teconerv weights bbc74aea84f79693 are not installed" in text
    assert "direct" in text  # the segment table, from the chunk heads


@pytest.mark.parametrize("family", ["grid", "teconerv"])
def test_a_header_claiming_ten_million_frames_is_refused_from_the_chunk_count(family, tmp_path):
    """grid (groups of one frame) and teconerv built the structure of every claimed frame before
    counting the stream's chunks: before, ``inrv info`` on such a grid stream took 58 s and 5.6 GB."""
    import dataclasses
    import time

    from bitstream import BitstreamError, StreamReader, encode_stream
    from eval.fuzz import _forged

    with StreamReader(golden(family)) as reader:
        header, chunks = reader.header, [(info.kind, payload) for info, payload in reader.iter_chunks()]
    fam = get_family(family)
    config = fam.unpack(header.model_config)
    if family == "grid":
        header = _forged(header, model_config=fam.pack(dataclasses.replace(config, gop=1)))
    path = tmp_path / "claims.inrv"
    path.write_bytes(encode_stream(_forged(header, num_frames=10**7), chunks))
    start = time.perf_counter()
    with pytest.raises(BitstreamError, match="need"):
        describe_stream(path)
    assert time.perf_counter() - start < 1.0
