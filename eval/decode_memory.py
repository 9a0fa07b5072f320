"""Peak memory and time of decoding one frame, per family and frame size
(``scripts/bench_decode_memory.py``; docs/data/decode-memory/report.md).

**Streams.** A short real encode of each registered family on carphone (176x144, its first
frames, the family's quick options, one thread), then that stream at each measured size:

* `nirvana`: the group networks do not depend on the frame size; the header is re-headed.
* `grid`: each group's latents are decoded, resampled to the new size's level shapes (nearest
  neighbour) and coded again under the group's own context model; networks unchanged.
* `teconerv`: each segment's per-tubelet modulations are repeated over the new grid of tubelets.
* `motion`: each frame's parts (intra; motion and residual) have their latents decoded, resampled
  to the new size's level shapes (nearest neighbour) and coded again under the part's own context
  model; networks unchanged (the motion vectors keep their length in pixels).
* `nerv`, `hnerv`: the network's shapes follow the frame size (strides planned for it, a stem
  or embeddings per cell), so these streams are made for the new size directly: the family's
  config for it (quick options) and codes drawn at random (seeded) for the network and
  embeddings. Decoding costs the same whatever the values.

Every stream is valid, its CRCs written by `bitstream.encode_stream`.

**Reproducers.** The one hostile reproducer of issue 36 that is a valid stream within the default
memory limit, `H4b` (tests/codec/data/repro: a teconerv stream of 8000x8000, 62,001 tubelets of
64x64 overlapping by 32 pixels, 16 frames, 82 bytes), decoded as it is: frame 0, and every frame.

**Measure.** Each stream is decoded in a fresh process (frame 0 only unless the row says every
frame, through `codec.open`, one torch thread): the process's peak resident memory (`VmHWM`,
the whole interpreter with torch), its resident memory once `codec` is imported, and the seconds
from opening the stream to the frame, wall-clock and of CPU (the CPU seconds of one thread are
the steadier figure on a shared machine), with no `max_memory` limit: the decoder is measured,
not the check that admits it. The parent polls the worker's resident memory and kills it past `limit_mb` (or past `timeout`
seconds): such a row says so instead of a figure. `code` chooses the tree whose `codec` the
worker imports (`PYTHONPATH`), so that an older decoder is measured on the same streams.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream import StreamReader, encode_stream
from eval.benchreport import Section, write_report as write_markdown

#: The sizes measured: name, width, height.
SIZES = (("720p", 1280, 720), ("1080p", 1920, 1080), ("2160p", 3840, 2160), ("4320p", 7680, 4320))
#: The reproducers measured (``--repro``): name, family and file, decoded as they are.
REPRO = (("H4b", "teconerv",
          Path(__file__).resolve().parents[1] / "tests/codec/data/repro/H4b_teconerv_tubelets_under_cap.inrv"),)
#: Frames of each family's small encode: one group or segment (grid's quick options: groups of 2).
FRAMES = {"grid": 2}
DEFAULT_FRAMES = 8

#: The worker: imports only ``codec``'s public API (it runs against older trees too).
WORKER = r"""
import json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
import torch
torch.set_num_threads(1)
import codec
base = status("VmRSS")
start, cpu = time.perf_counter(), time.process_time()
try:  # the decoder measured, not the admission check of --max-memory (trees before it lack it)
    video = codec.open(sys.argv[1], device="cpu", max_memory=0)
except TypeError:
    video = codec.open(sys.argv[1], device="cpu")
with video:  # frame 0, or every frame ("all"), none of them kept
    shape, count = None, 0
    for frame in video.frames(0, 1 if sys.argv[2] == "0" else None):
        shape, count = shape or list(frame.shape), count + 1
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"peak_mb": status("VmHWM"), "base_mb": base, "seconds": seconds, "cpu_seconds": cpu,
                  "shape": shape, "count": count, "codec": codec.__file__}))
"""


@dataclass(frozen=True)
class Row:
    """One decode: ``outcome`` is ``ok``, ``memory`` (killed past the limit), ``timeout`` or
    ``error`` (``message`` says what); ``code`` names the decoder measured, ``codec`` the tree the
    worker imported it from; ``frames``: ``0`` (frame 0) or ``all`` (every frame, ``count`` of
    them)."""

    code: str
    family: str
    size: str
    width: int
    height: int
    stream_bytes: int
    outcome: str
    peak_mb: float
    base_mb: float
    seconds: float
    message: str = ""
    codec: str = ""
    cpu_seconds: float = float("nan")
    frames: str = "0"
    count: int = 1


# ------------------------------------------------------------------------------------ streams
def small_stream(family: str, workdir: Path) -> Path:
    """A real encode of ``family``: carphone's first frames (:data:`FRAMES`), quick options."""
    import codec
    from codec.config import EncodeConfig
    from codec.registry import get_family

    path = workdir / f"{family}-small.inrv"
    if not path.exists():
        clip = workdir / "carphone.y4m"
        if not clip.exists():
            from codec.video import open_video, sample_clip, write_video

            with open_video(sample_clip("carphone")) as video:
                write_video(clip, video.read(0, DEFAULT_FRAMES), fps=Fraction(30000, 1001))
        frames = FRAMES.get(family, DEFAULT_FRAMES)
        codec.encode(clip, path, EncodeConfig(model=family, count=frames, device="cpu", threads=1, progress=False,
                                              options=dict(get_family(family).quick_options)))
    return path


def _read(path: Path):
    with StreamReader(path) as reader:
        return reader.header, [(info.kind, payload) for info, payload in reader.iter_chunks()]


def _geometry(header, width: int | None = None, height: int | None = None):
    from codec.family import Geometry

    return Geometry(width or header.width, height or header.height, header.num_frames, header.fps)


def reheaded(family: str, small: Path, width: int, height: int, seed: int = 0) -> bytes:
    """``small`` (a stream of ``family``) as a stream of ``width x height`` frames (the module's
    docstring says how, per family)."""
    header, chunks = _read(small)
    new = dataclasses.replace(header, width=width, height=height)
    if family == "nirvana":
        return encode_stream(new, chunks)
    if family == "grid":
        return encode_stream(new, _grid_chunks(small, width, height))
    if family == "teconerv":
        return encode_stream(new, _teconerv_chunks(small, width, height))
    if family == "motion":
        return encode_stream(new, _motion_chunks(small, width, height))
    return _random_network(family, header, width, height, seed)


def _nearest(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` resampled to ``shape`` by nearest neighbour (index ``i * old // new`` per axis)."""
    return values[np.ix_(*[np.arange(n) * o // n for n, o in zip(shape, values.shape)])]


def _recoded(levels: list[np.ndarray], shapes: list[tuple[int, ...]], context) -> tuple[np.ndarray, ...]:
    """Latent levels resampled to ``shapes`` (:func:`_nearest`) and coded again under ``context``."""
    from codec.tools.latentgrid import encode_level

    return tuple(encode_level(y, context, k) for k, y in enumerate(_resampled(levels, shapes)))


def _resampled(levels: list, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Latent levels resampled to ``shapes`` (:func:`_nearest`)."""
    return [_nearest(np.asarray(y), shape) for y, shape in zip(levels, shapes)]


def _grid_chunks(small: Path, width: int, height: int) -> list[tuple[int, bytes]]:
    import torch

    from bitstream.records.grid import write_grid
    from bitstream.records.kinds import CHUNK_GRID
    from codec.families.grid.decode import GridDecoder
    from codec.families.grid.net import level_shapes
    from codec.registry import get_family
    from codec.tools.latentgrid import SCHEMES, IntegerContext

    header, chunks = _read(small)
    config = get_family("grid").unpack(header.model_config)
    out = []
    with StreamReader(small) as reader:
        decoder = GridDecoder(config, _geometry(header), reader, torch.device("cpu"))
        for g, (_, count) in enumerate(decoder.plan):
            record, state = decoder.record(g), decoder.chain.state(g)
            context = IntegerContext.from_codes(SCHEMES[config.scheme], list(state.context), config.ctx_hidden,
                                                config.ctx_layers, config.bias_levels)
            levels = _recoded(decoder.latents(g), level_shapes(config, count, height, width), context)
            out.append((CHUNK_GRID, write_grid(dataclasses.replace(record, levels=levels))))
    return out


def motion_part_streams(small: Path, part_stream: bool = True) -> bytes:
    """A ``motion`` stream with the same latents coded again, one ANS stream per part
    (``part_stream``) or one per level: the same frames in another layout."""
    from codec.configio import pack_config
    from codec.registry import get_family

    header, _ = _read(small)
    config = dataclasses.replace(get_family("motion").unpack(header.model_config), part_stream=part_stream)
    new = dataclasses.replace(header, model_config=pack_config(config))
    return encode_stream(new, _motion_chunks(small, header.width, header.height, config))


def _motion_chunks(small: Path, width: int, height: int, config=None) -> list[tuple[int, bytes]]:
    """Every frame's parts with their latents resampled and coded again under the part's context
    model (networks unchanged: their shapes do not depend on the frame size), in the layout of
    ``config`` (default: the stream's)."""
    import torch

    from bitstream.records.kinds import CHUNK_FRAME
    from bitstream.records.motion import write_frame
    from codec.families.motion.decode import MotionDecoder, part_levels, part_words
    from codec.families.motion.net import PARTS, SCHEME, part_shape
    from codec.registry import get_family
    from codec.tools.latentgrid import IntegerContext

    header, chunks = _read(small)
    source = get_family("motion").unpack(header.model_config)
    config = config or source
    cpu = torch.device("cpu")
    frames = []
    with StreamReader(small) as reader:
        decoder = MotionDecoder(source, _geometry(header), reader, cpu)
        for chunk, coded in enumerate(decoder.structure.frames):
            state, parts = decoder.chain.state(chunk), []
            for role, record in zip(PARTS[coded.letter], state.record.parts):
                networks, part = state.networks[role], part_shape(config, role)
                context = IntegerContext.from_codes(SCHEME, list(networks.context), config.ctx_hidden,
                                                    config.ctx_layers, part.levels)
                levels = part_levels(record, networks, role, source, header.height, header.width, cpu)
                words = part_words(_resampled(levels, part.shapes(height, width)), context, config)
                parts.append(dataclasses.replace(record, levels=words))
            frames.append(write_frame(dataclasses.replace(state.record, parts=tuple(parts))))
    found = iter(frames)
    return [(kind, next(found) if kind == CHUNK_FRAME else payload) for kind, payload in chunks]


def _teconerv_chunks(small: Path, width: int, height: int) -> list[tuple[int, bytes]]:
    from bitstream.records.kinds import CHUNK_SEGMENT
    from bitstream.records.teconerv import read_segment, write_segment
    from codec.families.teconerv.decode import segment_shapes
    from codec.families.teconerv.pretrained import load_id
    from codec.registry import get_family
    from codec.tools.tubelets import TubeletGrid

    header, chunks = _read(small)
    config = get_family("teconerv").unpack(header.model_config)
    hypo = load_id(config.weights_id).hypo

    def count(w: int, h: int) -> int:
        return TubeletGrid(h, w, config.tile_h, config.tile_w, config.overlap).count

    old, new = count(header.width, header.height), count(width, height)
    out = []
    for kind, payload in chunks:
        if kind != CHUNK_SEGMENT:
            out.append((kind, payload))
            continue
        record = read_segment(payload, segment_shapes(hypo, old))
        values = tuple(v[np.arange(new) % old] for v in record.values)
        out.append((kind, write_segment(dataclasses.replace(record, values=values))))
    return out


def _random_network(family: str, header, width: int, height: int, seed: int, options: dict | None = None) -> bytes:
    """A ``nerv`` or ``hnerv`` stream for ``width x height``: the family's config for that size
    (its quick options, and ``options``), every network tensor (and hnerv's embeddings) random
    codes in [-8, 8]."""
    from bitstream.records.kinds import CHUNK_EMBEDDINGS, CHUNK_NETWORK
    from bitstream.records.tensorlist import pack_tensors
    from bitstream.tensor import QuantizedTensor
    from codec.config import EncodeConfig
    from codec.registry import get_family
    from codec.tools.blocks import base_grid

    fam = get_family(family)
    geometry = _geometry(header, width, height)
    config = fam.make_config(EncodeConfig.of(model=family, **fam.quick_options, **(options or {})), geometry)
    rng = np.random.default_rng(seed)

    def record(shape: tuple[int, ...], fan_in: int) -> QuantizedTensor:
        return QuantizedTensor(shape, rng.integers(-8, 9, size=shape), [0.1 / max(1, fan_in) ** 0.5])

    shapes = [tuple(p.shape) for p in fam.build_net(config, geometry).parameters()]
    chunks = [(CHUNK_NETWORK, pack_tensors([record(s, int(np.prod(s[1:])) if len(s) > 1 else 1) for s in shapes]))]
    if family == "hnerv":
        h0, w0 = base_grid(height, width, config.strides)
        chunks.append((CHUNK_EMBEDDINGS, pack_tensors([record((header.num_frames, config.embed_dim, h0, w0), 1)])))
    new = dataclasses.replace(header, width=width, height=height, model_config=fam.pack(config))
    return encode_stream(new, chunks)


def make_streams(workdir: Path, families: list[str], sizes=SIZES) -> dict[tuple[str, str], Path]:
    """Every family's stream at every size under ``workdir`` (made once: kept files are reused)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for family in families:
        small = small_stream(family, workdir)
        for name, width, height in sizes:
            path = workdir / f"{family}-{name}.inrv"
            if not path.exists():
                data = reheaded(family, small, width, height)
                path.with_suffix(".part").write_bytes(data)
                path.with_suffix(".part").rename(path)
            out[family, name] = path
    return out


# ------------------------------------------------------------------------------------ measure
def _rss_mb(pid: int, key: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(code: str, family: str, size: str, path: Path, code_dir: Path | None, limit_mb: float,
            timeout: float, frames: str = "0") -> Row:
    """Decode frame 0 of ``path`` (``frames="all"``: every frame) in a fresh worker (``code_dir``:
    the tree it imports ``codec`` from; ``None``: this one), killed past ``limit_mb`` resident or
    ``timeout`` seconds."""
    if frames not in ("0", "all"):
        raise ValueError(f"frames is '0' or 'all', not {frames!r}")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", INRV_THREADS="1")
    if code_dir is not None:
        env["PYTHONPATH"] = str(code_dir)
    with StreamReader(path) as reader:
        width, height = reader.header.width, reader.header.height
    base = dict(code=code, family=family, size=size, width=width, height=height, stream_bytes=path.stat().st_size,
                frames=frames)
    # -P and a neutral working folder: the worker imports codec from code_dir (or this install),
    # not from the folder it is started in
    proc = subprocess.Popen([sys.executable, "-P", "-c", WORKER, str(path.resolve()), frames], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, cwd=path.parent)
    start, peak, outcome = time.monotonic(), 0.0, ""
    while proc.poll() is None:
        peak = max(peak, _rss_mb(proc.pid))
        if peak > limit_mb:
            outcome = "memory"
        elif time.monotonic() - start > timeout:
            outcome = "timeout"
        if outcome:
            proc.kill()
            proc.wait()
            return Row(**base, outcome=outcome, peak_mb=peak, base_mb=float("nan"), seconds=time.monotonic() - start,
                       message=f"killed past {limit_mb:.0f} MB" if outcome == "memory" else
                       f"killed after {timeout:.0f} s")
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode != 0:
        last = (err.strip().splitlines() or ["exit status %d" % proc.returncode])[-1]
        return Row(**base, outcome="error", peak_mb=peak, base_mb=float("nan"), seconds=time.monotonic() - start,
                   message=last[:200])
    got = json.loads(out.strip().splitlines()[-1])
    return Row(**base, outcome="ok", peak_mb=got["peak_mb"], base_mb=got["base_mb"], seconds=got["seconds"],
               codec=str(Path(got["codec"]).parent.parent), cpu_seconds=got["cpu_seconds"], count=got["count"])


# ------------------------------------------------------------------------------------ report
def save(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for row in rows:
            f.write(json.dumps(asdict(row)) + "\n")


def load(path: Path) -> list[Row]:
    """The rows saved in ``path``, the last of each (code, family, size, frames) kept."""
    rows: dict[tuple[str, str, str, str], Row] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = Row(**json.loads(line))
            rows[row.code, row.family, row.size, row.frames] = row
    return list(rows.values())


def sized(rows: list[Row], frames: str = "0") -> list[Row]:
    """The rows of the measured sizes (:data:`SIZES`; ``frames``: frame 0, or ``all``: every frame
    of the stream), not the reproducers'."""
    names = {s for s, _, _ in SIZES}
    return [r for r in rows if r.size in names and r.frames == frames]


def every_frame_table(rows: list[Row]) -> str:
    """The rows decoding every frame of a sized stream: per family, size and code, the frames, the
    peak resident MB, CPU and wall seconds, and CPU seconds per frame."""
    sizes = [s for s, _, _ in SIZES]
    lines = [f"{'family':<9} {'size':<6} {'code':<8} {'frames':>6} {'peak MB':>8} {'cpu s':>8} {'wall s':>8} "
             f"{'cpu s/frame':>11}"]
    for r in sorted(rows, key=lambda r: (r.family, sizes.index(r.size))):
        lines.append(f"{r.family:<9} {r.size:<6} {r.code:<8} {r.count if r.outcome == 'ok' else '-':>6} "
                     + _measured(r, 2))
    return "\n".join(lines)


def _measured(r: Row, digits: int) -> str:
    """A decode's peak resident MB, CPU and wall seconds and CPU seconds per frame (``digits`` after
    the point), or what it ended with."""
    if r.outcome == "ok":
        return f"{r.peak_mb:>8.0f} {r.cpu_seconds:>8.1f} {r.seconds:>8.1f} {r.cpu_seconds / r.count:>11.{digits}f}"
    return f"{'>' + format(r.peak_mb, '.0f') if r.outcome == 'memory' else '':>8} {r.outcome:>8}  {r.message}"


def repro_table(rows: list[Row]) -> str:
    """The reproducers' rows (:data:`REPRO`): per stream, frames and code, the peak resident MB and
    the CPU and wall seconds of the decode, and per frame."""
    names = [n for n, _, _ in REPRO]
    lines = [f"{'stream':<7} {'frames':<6} {'code':<8} {'peak MB':>8} {'cpu s':>8} {'wall s':>8} {'cpu s/frame':>11}"]
    for r in sorted((r for r in rows if r.size in names), key=lambda r: (names.index(r.size), r.frames != "0")):
        lines.append(f"{r.size:<7} {r.frames if r.frames == '0' else r.count:<6} {r.code:<8} " + _measured(r, 1))
    return "\n".join(lines)


def _cell(row: Row | None) -> str:
    if row is None:
        return f"{'-':>26}"
    if row.outcome == "ok":
        return f"{row.peak_mb:>8.0f} {row.cpu_seconds:>8.2f} {row.seconds:>8.2f}"
    if row.outcome == "memory":
        return f"{'>' + format(row.peak_mb, '.0f'):>8} {'killed':>8} {'':>8}"
    return f"{'':>8} {row.outcome:>8} {'':>8}"


def table(rows: list[Row]) -> str:
    """Family x size: peak resident MB, CPU and wall seconds of one frame, three columns per code."""
    codes = list(dict.fromkeys(r.code for r in rows))
    sizes = [s for s, _, _ in SIZES if any(r.size == s for r in rows)]
    by = {(r.code, r.family, r.size): r for r in rows}
    head = f"{'family':<9} {'size':<6} " + " ".join(f"{c + ' MB':>8} {'cpu s':>8} {'wall s':>8}" for c in codes)
    lines = [head]
    for family in dict.fromkeys(r.family for r in rows):
        for size in sizes:
            lines.append(f"{family:<9} {size:<6} " + " ".join(_cell(by.get((c, family, size))) for c in codes))
    return "\n".join(lines)


def per_pixel_table(rows: list[Row]) -> str:
    """CPU seconds per megapixel of the frame, per code, family and size (``ok`` rows): a decoder
    whose time is proportional to the pixels shows the same figure at every size."""
    codes = list(dict.fromkeys(r.code for r in rows))
    sizes = [s for s, _, _ in SIZES if any(r.size == s for r in rows)]
    by = {(r.code, r.family, r.size): r for r in rows}
    lines = [f"{'code':<8} {'family':<9} " + " ".join(f"{s:>8}" for s in sizes)]
    for code in codes:
        for family in dict.fromkeys(r.family for r in rows):
            cells = []
            for size in sizes:
                r = by.get((code, family, size))
                ok = r is not None and r.outcome == "ok"
                cells.append(f"{r.cpu_seconds / (r.width * r.height / 1e6):>8.3f}" if ok else f"{'-':>8}")
            lines.append(f"{code:<8} {family:<9} " + " ".join(cells))
    return "\n".join(lines)


def failures(rows: list[Row]) -> str:
    """What the rows without a figure ended with."""
    return "\n".join(f"{r.code} {r.family} {r.size}: {r.outcome}: {r.message}" for r in rows if r.outcome != "ok")


def write_report(path: Path, rows: list[Row], command: str) -> Path:
    frame0, sections = sized(rows), []
    if frame0:
        sections += [Section("Peak resident memory and time of one frame",
                             table(frame0), "Whole process (the interpreter with torch is "
                             f"{np.nanmedian([r.base_mb for r in frame0 if r.outcome == 'ok']):.0f} MB of it, "
                             "median); CPU and wall seconds from opening the stream to the frame; one torch thread."),
                     Section("CPU seconds per megapixel", per_pixel_table(frame0))]
    if failures(frame0):
        sections.append(Section("Decodes without a figure", failures(frame0)))
    if sized(rows, "all"):
        sections.append(Section("Every frame of a stream", every_frame_table(sized(rows, "all")),
                                "The sized streams decoded whole (`--every-frame`: 8 frames, a family's frame "
                                "types; motion's I, P and B frames), whole process, one torch thread."))
    if any(r.size in {n for n, _, _ in REPRO} for r in rows):
        sections.append(Section("The reproducer that decodes", repro_table(rows),
                                "Whole process, one torch thread, no memory limit; frame 0, then every frame. "
                                "`strips`: the decoder of the `after` column above before teconerv rendered only "
                                "the frames asked for and kept its codes a layer at a time (commit 77b10c3)."))
    return write_markdown(path, "Decoding memory per frame size", command, sections,
                          note=__doc__.split("\n\n", 1)[1].strip())
