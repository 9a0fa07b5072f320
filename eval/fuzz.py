"""Structure-aware fuzzing of ``.inrv`` decoding (``scripts/fuzz.py``).

Seed streams: a small real encode of every registered family (:func:`codec.registry.family_names`).
Mutants: truncations, bit flips, inserted and deleted bytes (these break CRCs: the container must
say so), and re-framed ones whose CRCs are recomputed so that they reach the deeper checks: chunks
reordered, duplicated or dropped, header fields and model-config fields set to extreme values,
the whole stream re-headed to a large geometry (720p to 16384 x 16384, chunks untouched: what a
legitimate UHD stream asks of the decoder's memory), bytes of one chunk's payload replaced, cut or
extended.

Every case runs in a worker process (``python -m eval.fuzz --worker``, one torch thread) that
opens the mutant, prints its ``inrv info`` text and decodes its frames (the first and last 32 of a
longer stream: :data:`RENDER_FRAMES`), telling the decoder the
memory it may use (``max_memory``: the case's memory limit less what the worker holds before the
case). The parent gives each case a time limit (60 s, plus a second per million pixels its header
claims: rendering what a valid header asks for is not a hang) and polls the worker's resident
memory: a worker past either is killed and the case counted as a hang or over memory (a family
that states less decode memory than it uses); a worker that dies is a crash; an exception other
than :class:`bitstream.BitstreamError` or :class:`codec.errors.InrvError` is a traceback.
Outcomes: ``accepted`` (decoded, frames of the header's shape), ``clean`` (one BitstreamError, or
the one line of a limit: pixels, memory), and the four failures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bitstream import StreamReader, encode_stream

OUTCOMES = ("accepted", "clean", "traceback", "hang", "crash", "memory")
MUTATORS = ("truncate", "raw", "chunks", "header", "config", "rehead", "payload")
FAILURES = ("traceback", "hang", "crash", "memory")
#: The decode a worker runs on each case: ``module:function`` taking a path, returning a short text.
DEFAULT_TARGET = "eval.fuzz:decode_case"


@dataclass(frozen=True)
class Case:
    family: str
    mutator: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    outcome: str
    seconds: float
    peak_mib: float
    message: str = ""


@dataclass
class Summary:
    """Outcome counts, the largest resident memory and the slowest clean error, per family."""

    counts: dict[str, Counter] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)
    slowest_clean: dict[str, float] = field(default_factory=dict)
    failures: list[tuple[Case, Outcome]] = field(default_factory=list)

    by_mutator: dict[str, Counter] = field(default_factory=dict)

    def add(self, case: Case, out: Outcome) -> None:
        self.counts.setdefault(case.family, Counter())[out.outcome] += 1
        self.by_mutator.setdefault(case.mutator, Counter())[out.outcome] += 1
        self.peak_mib[case.family] = max(self.peak_mib.get(case.family, 0.0), out.peak_mib)
        if out.outcome == "clean":
            self.slowest_clean[case.family] = max(self.slowest_clean.get(case.family, 0.0), out.seconds)
        if out.outcome in FAILURES:
            self.failures.append((case, out))

    def table(self) -> str:
        """Outcomes per family, with the largest resident memory and the slowest clean error."""
        head = f"{'family':<9} {'cases':>6} " + " ".join(f"{o:>9}" for o in OUTCOMES)
        lines = [head + f" {'peak MiB':>9} {'slowest clean s':>16}"]
        for family, counts in self.counts.items():
            lines.append(f"{family:<9} {sum(counts.values()):>6} " + " ".join(f"{counts[o]:>9}" for o in OUTCOMES)
                         + f" {self.peak_mib[family]:>9.0f} {self.slowest_clean.get(family, 0.0):>16.2f}")
        return "\n".join(lines)

    def mutator_table(self) -> str:
        """Outcomes per mutator, every family together."""
        lines = [f"{'mutator':<9} {'cases':>6} " + " ".join(f"{o:>9}" for o in OUTCOMES)]
        for mutator in [m for m in MUTATORS if m in self.by_mutator]:
            counts = self.by_mutator[mutator]
            lines.append(f"{mutator:<9} {sum(counts.values()):>6} " + " ".join(f"{counts[o]:>9}" for o in OUTCOMES))
        return "\n".join(lines)

    def to_json(self) -> dict:
        """What :meth:`from_json` reads back (failing cases as family, mutator, outcome, message)."""
        return {"counts": {f: dict(c) for f, c in self.counts.items()},
                "by_mutator": {m: dict(c) for m, c in self.by_mutator.items()},
                "peak_mib": self.peak_mib, "slowest_clean": self.slowest_clean,
                "failures": [[c.family, c.mutator, o.outcome, o.message] for c, o in self.failures]}

    @classmethod
    def from_json(cls, data: dict) -> "Summary":
        failures = [(Case(f, m, b""), Outcome(o, 0.0, 0.0, msg)) for f, m, o, msg in data.get("failures", [])]
        return cls(counts={f: Counter(c) for f, c in data["counts"].items()}, peak_mib=data["peak_mib"],
                   slowest_clean=data["slowest_clean"], failures=failures,
                   by_mutator={m: Counter(c) for m, c in data.get("by_mutator", {}).items()})


# ------------------------------------------------------------------------------------- seeds
def seed_streams(workdir: Path, families: list[str] | None = None) -> dict[str, bytes]:
    """A small real stream of each family: 4 frames of carphone cropped to 48x40, its quick options."""
    import codec
    from codec.config import EncodeConfig
    from codec.registry import family_names, get_family
    from codec.video import open_video, sample_clip, write_video

    with open_video(sample_clip("carphone")) as video:
        clip = np.ascontiguousarray(video.read(0, 4)[:, 60:100, 64:112])
    src = workdir / "seed.y4m"
    write_video(src, clip, fps=25)
    out = {}
    for family in families or family_names():
        path = workdir / f"{family}.inrv"
        codec.encode(src, path, EncodeConfig(model=family, device="cpu", threads=1, progress=False,
                                             options=dict(get_family(family).quick_options)))
        out[family] = path.read_bytes()
    return out


# ---------------------------------------------------------------------------------- mutants
def _edit(data: bytes, rng: random.Random) -> bytes:
    """Bytes replaced, cut, inserted, deleted or appended somewhere in ``data``."""
    pos = rng.randrange(max(1, len(data)))
    kind = rng.choice(("replace", "cut", "insert", "delete", "append", "flip"))
    if kind == "replace":
        return data[:pos] + rng.randbytes(rng.randint(1, 8)) + data[pos + 8:]
    if kind == "cut":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + rng.randbytes(rng.randint(1, 16)) + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + rng.randint(1, 16):]
    if kind == "append":
        return data + rng.randbytes(rng.randint(1, 64))
    flipped = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(flipped))
        flipped[i] ^= 1 << rng.randrange(8)
    return bytes(flipped)


EXTREMES = (0, 1, 2, 3, 255, 256, 2**16 - 1, 2**16, 2**24, 2**31 - 1, 2**32 - 1, 10**7, 10**7 + 1)


def _forged(obj, **changes):
    """A frozen dataclass with fields set past its own checks (what a hostile writer writes)."""
    forged = object.__new__(type(obj))
    for f in dataclasses.fields(obj):
        object.__setattr__(forged, f.name, changes.get(f.name, getattr(obj, f.name)))
    return forged


def _header_field(header, rng: random.Random):
    """The header with one field at an extreme, in range or not (its CRC is recomputed)."""
    name = rng.choice(("width", "height", "num_frames", "fps_num", "fps_den", "family_id", "pix_fmt",
                       "colour_matrix"))
    value = rng.choice(EXTREMES + (int(getattr(header, name)) + rng.choice((-1, 1)),))
    if name in ("pix_fmt", "colour_matrix"):
        value %= 256
    return _forged(header, **{name: value})


#: Geometries a re-headed stream claims (width, height): 720p, 1080p, 2160p, 4320p and the format's
#: largest frame; or a random one (:func:`_rehead`).
LARGE_GEOMETRIES = ((1280, 720), (1920, 1080), (3840, 2160), (7680, 4320), (16384, 16384))


def _rehead(header, rng: random.Random):
    """The header of a real stream claiming a large frame (its chunks untouched, CRCs recomputed):
    one of :data:`LARGE_GEOMETRIES` or a random size up to the format's largest, the frame count
    kept (the chunk layout still matches it), doubled, or the format's most."""
    from bitstream.container import MAX_DIM, MAX_FRAMES

    if rng.random() < 0.7:
        width, height = rng.choice(LARGE_GEOMETRIES)
    else:
        width, height = rng.randint(256, MAX_DIM), rng.randint(256, MAX_DIM)
    frames = rng.choice((header.num_frames,) * 4 + (2 * header.num_frames, MAX_FRAMES))
    return _forged(header, width=width, height=height, num_frames=frames)


def _config_field(family: str, header, rng: random.Random) -> bytes:
    """The model config with one field set to an extreme (past the dataclass's own checks)."""
    from codec.registry import get_family

    fam = get_family(family)
    config = fam.unpack(header.model_config)
    target = rng.choice(dataclasses.fields(config)).name
    value = getattr(config, target)
    if isinstance(value, tuple):
        value = rng.choice(((), value[:-1], value + value[-1:], (rng.choice(EXTREMES),) * len(value)))
    elif isinstance(value, bool):
        value = not value
    elif isinstance(value, int):
        value = rng.choice(EXTREMES + (value * 2, value + 1, max(0, value - 1)))
    forged = _forged(config, **{target: value})
    try:
        return fam.pack(forged)
    except (ValueError, OverflowError):
        return _edit(header.model_config, rng)


def mutate(family: str, seed: bytes, rng: random.Random) -> Case:
    """One mutant of ``seed`` (a stream of ``family``), its mutator named."""
    with StreamReader(seed) as reader:
        header = reader.header
        chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
    mutator = rng.choice(MUTATORS + ("payload", "payload"))
    if mutator == "truncate":
        return Case(family, mutator, seed[: rng.randrange(len(seed))])
    if mutator == "raw":
        return Case(family, mutator, _edit(seed, rng))
    if mutator == "chunks":
        op = rng.choice(("shuffle", "duplicate", "drop", "kind"))
        i = rng.randrange(len(chunks))
        if op == "shuffle":
            rng.shuffle(chunks)
        elif op == "duplicate":
            chunks.insert(i, chunks[i])
        elif op == "drop":
            del chunks[i]
        else:
            chunks[i] = (rng.randrange(256), chunks[i][1])
    elif mutator == "header":
        header = _header_field(header, rng)
    elif mutator == "config":
        header = dataclasses.replace(header, model_config=_config_field(family, header, rng)[:65536])
    elif mutator == "rehead":
        header = _rehead(header, rng)
    else:
        i = rng.randrange(len(chunks))
        chunks[i] = (chunks[i][0], _edit(chunks[i][1], rng))
    return Case(family, mutator, encode_stream(header, chunks))


def cases(seeds: dict[str, bytes], per_family: int, seed: int) -> Iterator[Case]:
    """``per_family`` mutants of each seed, families interleaved."""
    rng = random.Random(seed)
    for _ in range(per_family):
        for family, data in seeds.items():
            yield mutate(family, data, rng)


# ------------------------------------------------------------------------ coverage-guided
#: Values per record the parser harness lets a record claim (the codec passes the model's shapes).
PARSE_MAX_SYMBOLS = 1 << 16


def parse_all(data: bytes) -> None:
    """The bitstream parser end to end on ``data``, for coverage-guided fuzzing (atheris,
    ``scripts/fuzz_atheris.py``): the container, every chunk's CRC, and each payload read as a
    tensor list and as a group record. Anything but BitstreamError escaping is a finding."""
    from bitstream import BitstreamError, ByteReader
    from bitstream.records.nirvana import read_group
    from bitstream.tensor import read_tensor

    try:
        with StreamReader(data) as reader:
            payloads = [reader.read_chunk(i) for i in range(len(reader.chunks))]
    except BitstreamError:
        return
    for payload in payloads:
        try:
            r = ByteReader(payload)
            for _ in range(min(r.uvarint(), 64)):
                read_tensor(r, max_symbols=PARSE_MAX_SYMBOLS)
        except BitstreamError:
            pass
        try:
            read_group(payload, [(4, 3, 3, 3), (4,), (3, 4, 3, 3)])
        except BitstreamError:
            pass


def claimed_pixels(data: bytes) -> int:
    """Pixels the stream's header says it decodes to (0 when the header does not parse)."""
    from bitstream import BitstreamError

    try:
        with StreamReader(data) as reader:
            h = reader.header
        return h.width * h.height * h.num_frames
    except BitstreamError:
        return 0


# ----------------------------------------------------------------------------------- worker
#: Bytes a case's decoder may ask for (``max_memory``); the worker sets it from its memory limit.
CASE_MEMORY: int | str | None = "auto"
#: The environment variable that gives a worker its memory limit in MiB.
MEMORY_ENV = "INRV_FUZZ_MEMORY_MIB"
#: What a worker keeps free of its limit besides what it holds before a case (allocator slack).
MEMORY_SLACK = 64 * 2**20


#: Frames a case renders at each end of its stream at most: a header may claim 65,536 frames of a
#: whole-clip network in a few kilobytes, and rendering them all is work the stream asks for (an
#: hour on a busy machine), not what a fuzzer looks for. The range at the end still reads every
#: chunk it depends on (the chain of codes back to a directly coded one; whole-clip families read
#: theirs up front).
RENDER_FRAMES = 32


def decode_case(path: str) -> str:
    """What users run on a file: ``inrv info``, then its frames decoded (the first and last
    :data:`RENDER_FRAMES`, every frame of a shorter stream), under the pixel limit of
    ``codec.decode`` (a stream over it is refused as ``inrv decode`` refuses it) and the memory the
    worker may use (:data:`CASE_MEMORY`). Raises BitstreamError (or a limit's ConfigError) on a bad
    one."""
    import codec
    from codec.config import MAX_DECODE_PIXELS
    from codec.errors import ConfigError
    from codec.streaminfo import describe_stream

    describe_stream(path, max_memory=CASE_MEMORY)
    with codec.open(path, device="cpu", max_memory=CASE_MEMORY) as coded:
        info = coded.info
        if info.width * info.height * info.num_frames > MAX_DECODE_PIXELS:
            raise ConfigError("over the pixel limit of codec.decode")
        total = info.num_frames
        ranges = [(0, total)] if total <= 2 * RENDER_FRAMES else [(0, RENDER_FRAMES), (total - RENDER_FRAMES, total)]
        n = 0
        for start, stop in ranges:
            got = 0
            for chunk in coded.decoder.render(start, stop):
                if chunk.shape[1:] != (info.height, info.width, 3):
                    raise AssertionError(f"frames of {chunk.shape[1:]} in a {info.width}x{info.height} stream")
                got += len(chunk)
            if got != stop - start:
                raise AssertionError(f"frames {start}..{stop - 1} decoded to {got} frames")
            n += got
    return f"{n} frames"


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def worker(target: str) -> None:
    """Read case paths from stdin, one per line; answer each with one JSON line on stdout."""
    import importlib

    from bitstream import BitstreamError
    from codec.errors import InrvError

    module, _, name = target.partition(":")
    run: Callable[[str], str] = getattr(importlib.import_module(module), name)
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the decode prints stays out of the answers
    try:
        run(os.devnull)  # the imports a case needs, before the first case is timed
    except Exception:  # noqa: BLE001 - not a stream
        pass
    limit = os.environ.get(MEMORY_ENV)
    fuzz = importlib.import_module("eval.fuzz")  # where decode_case reads the limit: this may run as __main__
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        if limit:  # what the case may add to what the worker holds now (it grows over the cases)
            fuzz.CASE_MEMORY = max(1, int(float(limit) * 2**20) - _rss_bytes() - MEMORY_SLACK)
        try:
            Path("/proc/self/clear_refs").write_text("5")  # the peak RSS from here
        except OSError:
            pass
        start = time.perf_counter()
        try:
            run(line.strip())
            outcome, message = "accepted", ""
        except (BitstreamError, InrvError) as exc:  # one line for the user
            outcome, message = "clean", str(exc)
        except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
            outcome, message = "traceback", f"{type(exc).__name__}: {exc}"
        answer = {"outcome": outcome, "seconds": time.perf_counter() - start,
                  "peak_mib": _peak_kib() / 1024, "message": message[:300]}
        print(json.dumps(answer), file=out, flush=True)


class Worker:
    """One worker process, restarted after a case that killed it."""

    def __init__(self, target: str, threads: int = 1, memory_mib: float | None = None) -> None:
        self.target, self.threads, self.memory_mib = target, threads, memory_mib
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, "INRV_THREADS": str(self.threads), "OMP_NUM_THREADS": str(self.threads)}
        if self.memory_mib is not None:
            env[MEMORY_ENV] = str(self.memory_mib)
        self.proc = subprocess.Popen([sys.executable, "-m", "eval.fuzz", "--worker", self.target],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env)
        if json.loads(self.proc.stdout.readline() or "{}").get("ready") is not True:
            raise RuntimeError(f"fuzz worker for {self.target} did not start")

    def _rss_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, path: Path, time_limit: float, memory_mib: float) -> Outcome:
        if self.proc is None:
            self._start()
        start = time.perf_counter()
        peak = 0.0
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.kill()
            return Outcome("crash", 0.0, 0.0, "worker gone")
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.02)
            elapsed = time.perf_counter() - start
            peak = max(peak, self._rss_mib())
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    code = self.proc.wait()
                    self.proc = None
                    return Outcome("crash", elapsed, peak, f"worker exited with {code}")
                answer = json.loads(line)
                return Outcome(answer["outcome"], answer["seconds"], max(peak, answer["peak_mib"]), answer["message"])
            if peak > memory_mib:
                self.kill()
                return Outcome("memory", elapsed, peak, f"resident memory over {memory_mib:.0f} MiB")
            if elapsed > time_limit:
                self.kill()
                return Outcome("hang", elapsed, peak, f"no answer in {time_limit:.0f} s")


@dataclass(frozen=True)
class FuzzConfig:
    per_family: int = 100
    minutes: float | None = None
    workers: int = 2
    time_limit: float = 60.0
    #: A case's time limit grows by one second per this many pixels its header claims: a valid
    #: header may ask for many frames (a whole-clip network renders any number), and rendering
    #: them is work the stream legitimately asks for, not a hang.
    pixels_per_second: float = 1e6
    memory_mib: float = 1024.0
    seed: int = 0
    families: tuple[str, ...] | None = None
    target: str = DEFAULT_TARGET
    keep: Path | None = None
    progress: bool = True


def run(cfg: FuzzConfig, seeds: dict[str, bytes] | None = None) -> Summary:
    """Every case through the workers (``cfg.workers`` at once); stops early after ``minutes``.
    Failing cases are written to ``cfg.keep`` (when given) for reproduction."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    summary = Summary()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        seeds = seeds or seed_streams(work, list(cfg.families) if cfg.families else None)
        pool = [Worker(cfg.target, memory_mib=cfg.memory_mib) for _ in range(cfg.workers)]
        deadline = None if cfg.minutes is None else time.monotonic() + 60 * cfg.minutes
        total = cfg.per_family * len(seeds)

        def one(args: tuple[int, Case]) -> tuple[Case, Outcome]:
            i, case = args
            if deadline is not None and time.monotonic() > deadline:
                return case, Outcome("skipped", 0.0, 0.0)
            path = work / f"case_{i}.inrv"
            path.write_bytes(case.data)
            limit = cfg.time_limit + claimed_pixels(case.data) / cfg.pixels_per_second
            try:
                return case, pool[i % len(pool)].run(path, limit, cfg.memory_mib)
            finally:
                path.unlink(missing_ok=True)

        try:
            with tqdm(total=total, desc="fuzz", unit="case", disable=not cfg.progress) as bar, \
                    ThreadPoolExecutor(len(pool)) as executor:
                batches = enumerate(cases(seeds, cfg.per_family, cfg.seed))
                # one case per worker at a time: case i goes to worker i % workers, in order
                for start in range(0, total, len(pool)):
                    chunk = [next(batches) for _ in range(min(len(pool), total - start))]
                    for case, out in executor.map(one, chunk):
                        if out.outcome == "skipped":
                            continue
                        summary.add(case, out)
                        bar.update(1)
                        bad = sum(summary.counts[f][o] for f in summary.counts for o in FAILURES)
                        bar.set_postfix(failures=bad, peak_mib=f"{max(summary.peak_mib.values()):.0f}")
                        if out.outcome in FAILURES and cfg.keep is not None:
                            cfg.keep.mkdir(parents=True, exist_ok=True)
                            (cfg.keep / f"{case.family}_{out.outcome}_{start}.inrv").write_bytes(case.data)
                    if deadline is not None and time.monotonic() > deadline:
                        break
        finally:
            for w in pool:
                w.kill()
    return summary


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_TARGET)


# ----------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class RunInfo:
    """How a saved fuzz run was made: what ``scripts/fuzz.py`` was given, and how long it took."""

    per_family: int
    workers: int
    seed: int
    time_limit: float
    memory_mib: float
    seconds: float
    threads: int = 1


def save(path: Path, summary: Summary, info: RunInfo) -> Path:
    """The run's summary and how it was made, as JSON (what :func:`load` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": dataclasses.asdict(info), "summary": summary.to_json()}, indent=1) + "\n")
    return path


def load(path: Path) -> tuple[Summary, RunInfo]:
    data = json.loads(Path(path).read_text())
    return Summary.from_json(data["summary"]), RunInfo(**data["run"])


def report_sections(summary: Summary, info: RunInfo) -> list:
    """The report's tables: outcomes per family, per mutator, and the failing cases (if any)."""
    from eval.benchreport import Section

    minutes = info.seconds / 60
    sections = [
        Section("Outcomes per family", summary.table(),
                f"{info.per_family} decode cases per family, {info.workers} worker process(es) of {info.threads} torch "
                f"thread(s), seed {info.seed}; each case limited to {info.time_limit:g} s (plus a second per "
                f"million pixels its header claims) and {info.memory_mib:g} MiB resident, the decoder told that "
                f"limit less what the worker holds (max_memory). accepted: decoded to frames of the header's "
                f"shape (every frame, or the first and last {RENDER_FRAMES} of a longer stream); clean: one "
                f"error line (invalid stream, or a pixel or memory limit). The run took "
                f"{minutes:.0f} minutes on a machine of 2 shared cores."),
        Section("Outcomes per mutator", summary.mutator_table(),
                "rehead: a real stream's header claiming 720p to 16384 x 16384 (CRCs valid, chunks untouched)."),
    ]
    if summary.failures:
        sections.append(Section("Failing cases", "\n".join(
            f"{c.family} {c.mutator}: {o.outcome}: {o.message}" for c, o in summary.failures[:50])))
    return sections


def write_report(path: Path, summary: Summary, info: RunInfo, command: str) -> Path:
    """``report.md`` of a saved run (:mod:`eval.benchreport`)."""
    from eval.benchreport import write_report as write

    return write(path, "Fuzzing inrv decoding", command, report_sections(summary, info),
                 "Structure-aware mutants of a small real stream of every registered family (eval/fuzz.py; "
                 "docs/robustness.md says what each outcome means).")
