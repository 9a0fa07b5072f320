"""How one encode spreads over processes and a cluster (``scripts/bench_parallel.py``,
docs/parallel.md). Nothing is asserted: it measures and prints.

* **Runs.** One clip encoded once per way of running it (``--jobs 1``, ``--jobs N``, one process
  with N threads, Ray tasks on a local runtime): the wall time of each encode (training, writing,
  and the measuring decode the encoder does), whether the files are the same bytes, and the
  speed-up over ``--jobs 1``.
* **A cluster on paper.** From the per-frame seconds of the ``--jobs 1`` run (one thread), each
  frame kind's cost per training step and pixel (intra, the first P and B frames that train their
  networks, later P and B frames), then the frame plan of a longer, larger sequence (a 600-frame
  1080p UVG sequence by default) with each frame's cost scaled to its steps and pixels, and the
  scheduler's policy played on 1, 8, 64 workers (:func:`codec.tools.schedule.simulate`): wall
  time, speed-up, the critical path that bounds it, and the workers' busy share.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path

from codec.config import EncodeConfig
from codec.families.motion.config import DEFAULT_INTRA_PERIOD
from codec.results import GroupResult

__all__ = ["Run", "run_encode", "step_costs", "Projection", "project", "report", "bench", "RUNS"]

#: The ways of running the encode that :func:`bench` compares (N: its ``jobs``).
RUNS = ("jobs 1", "jobs N", "threads N", "ray")


@dataclass(frozen=True)
class Run:
    """One encode: how it ran, its wall seconds, its file (bytes, digest), PSNR and frames."""

    label: str
    jobs: int | None
    threads: int | None
    ray: bool
    seconds: float
    bytes: int
    sha256: str
    psnr: float
    bpp: float
    most_jobs: int
    frames: tuple[GroupResult, ...]


def run_encode(clip: Path, out: Path, base: EncodeConfig, label: str) -> Run:
    """Encode ``clip`` to ``out`` with ``base`` and time it."""
    import codec

    start = time.perf_counter()
    result = codec.encode(clip, out, base)
    seconds = time.perf_counter() - start
    data = out.read_bytes()
    return Run(label, base.jobs, base.threads, base.ray is not None, seconds, len(data),
               hashlib.sha256(data).hexdigest(), result.psnr_rgb, result.bpp, result.jobs, result.groups)


def _kind(letter: str, networks: bool) -> str:
    return letter if letter == "I" else f"{letter}{'*' if networks else ''}"


def step_costs(run: Run, width: int, height: int, plan) -> dict[str, float]:
    """Seconds per training step and pixel of each frame kind (``I``; ``P*`` and ``B*``: the first
    of their type, training its networks; ``P``, ``B``: later ones), from ``run``'s frames (coded
    in ``plan``'s order)."""
    sums: dict[str, list[float]] = {}
    for i, frame in enumerate(run.frames):
        coded = plan.structure.frames[i]
        kind = _kind(coded.letter, plan.first[i] == i)
        seconds, steps = sums.setdefault(kind, [0.0, 0.0])
        sums[kind] = [seconds + frame.seconds, steps + max(1, frame.steps)]
    return {k: s / n / (width * height) for k, (s, n) in sums.items()}


@dataclass(frozen=True)
class Projection:
    """:func:`project`'s answer for one worker count."""

    workers: int
    wall: float
    speedup: float
    critical_path: float
    utilisation: float


def project(costs: dict[str, float], frames: int, width: int, height: int, intra_steps: int,
            intra_period: int = DEFAULT_INTRA_PERIOD, workers: tuple[int, ...] = (1, 8, 64),
            overhead: float = 0.0) -> list[Projection]:
    """The wall time of a ``frames``-frame ``width x height`` encode on each worker count, each
    frame costing its planned steps times its kind's measured cost per step and pixel (a kind not
    measured takes the nearest: ``P`` as ``B``), plus ``overhead`` seconds per task."""
    from codec.families.motion.encode import frame_plan
    from codec.tools.schedule import Task, simulate

    plan = frame_plan(_structure(frames, intra_period), intra_steps, warm=True)
    fallback = {"P*": "B*", "B*": "P*", "P": "B", "B": "P"}
    tasks = []
    for t, coded in zip(plan.tasks, plan.structure.frames):
        kind = _kind(coded.letter, plan.first[t.position] == t.position)
        rate = costs.get(kind, costs.get(fallback.get(kind, "I"), costs["I"]))
        tasks.append(Task(t.position, t.needs, plan.steps[t.position] * rate * width * height))
    out = []
    for w in workers:
        s = simulate(tasks, w, overhead)
        out.append(Projection(w, s.wall, s.speedup, s.critical_path, s.utilisation))
    return out


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def structure_bound(run: Run, frames: int, intra_period: int, intra_steps: int, jobs: int) -> tuple[float, float]:
    """``(wall, critical path)`` seconds of training ``run``'s frames, each taking the seconds it
    took in ``run``, on ``jobs`` workers under the scheduler's policy: what the coding structure
    allows, before process starts, transfers and two jobs sharing a machine."""
    from codec.families.motion.encode import frame_plan
    from codec.tools.schedule import Task, simulate

    plan = frame_plan(_structure(frames, intra_period), intra_steps, warm=True)
    tasks = [Task(t.position, t.needs, run.frames[t.position].seconds) for t in plan.tasks]
    s = simulate(tasks, jobs)
    return s.wall, s.critical_path


def report(runs: list[Run], projections: list[Projection], costs: dict[str, float], setting: dict) -> str:
    """The runs' table and the projection's, as markdown."""
    base = next((r for r in runs if r.label == "jobs 1"), runs[0])
    same = {r.label: ("yes" if r.sha256 == base.sha256 else "NO") if r.threads in (None, 1) else
            f"another file ({r.threads} threads)" for r in runs}
    lines = [f"Clip {setting['clip']}, {setting['frames']} frames, quality {setting['quality']}, "
             f"{setting['cpus']} CPU cores; reprint: `python scripts/bench_parallel.py --report-only "
             f"{setting['out']}`", "",
             "| run | wall s | speed-up vs jobs 1 | most jobs at once | bytes | same bytes as jobs 1 | PSNR-RGB dB |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for r in runs:
        lines.append(f"| {r.label} | {r.seconds:.1f} | {base.seconds / r.seconds:.2f}x | {r.most_jobs} | {r.bytes} | "
                     f"{same[r.label]} | {r.psnr:.2f} |")
    trained = sum(f.seconds for f in base.frames)
    for r in runs:
        if r.jobs and r.jobs > 1 and base.jobs == 1:
            wall, path = structure_bound(base, setting["frames"], setting["intra_period"], setting["intra_steps"],
                                         r.jobs)
            lines += ["", f"What the structure allows {r.jobs} jobs: {wall:.1f} s of training against {trained:.1f} "
                      f"s on one ({trained / wall:.2f}x; each frame taking its jobs-1 seconds; critical path "
                      f"{path:.1f} s); the {r.label} run trained its frames in {sum(f.seconds for f in r.frames):.1f} s "
                      f"of work in all."]
            break
    lines += ["", "Seconds per training step per megapixel (from jobs 1): "
              + ", ".join(f"{k} {v * 1e6:.3f}" for k, v in sorted(costs.items())), "",
              f"Projection: {setting['target']} ({setting['target_frames']} frames, intra period "
              f"{setting['intra_period']}), {setting['overhead']:.2f} s per task for starting it and moving its frames", "",
              "| workers | wall | speed-up | critical path | workers busy |", "|---:|---:|---:|---:|---:|"]
    for p in projections:
        lines.append(f"| {p.workers} | {_hours(p.wall)} | {p.speedup:.1f}x | {_hours(p.critical_path)} | "
                     f"{100 * p.utilisation:.0f}% |")
    return "\n".join(lines) + "\n"


def save(path: Path, runs: list[Run], projections: list[Projection], costs: dict[str, float], setting: dict) -> None:
    data = {"setting": setting, "runs": [asdict(r) for r in runs], "costs": costs,
            "projections": [asdict(p) for p in projections]}
    path.write_text(json.dumps(data, indent=1, default=str))


def load(path: Path) -> tuple[list[Run], list[Projection], dict[str, float], dict]:
    data = json.loads(path.read_text())
    runs = [Run(**{**r, "frames": tuple(GroupResult(**g) for g in r["frames"])}) for r in data["runs"]]
    return runs, [Projection(**p) for p in data["projections"]], data["costs"], data["setting"]


def geometry_of(clip: Path) -> tuple[int, int, int, Fraction]:
    from codec.video import open_input

    with open_input(clip) as reader:
        info = reader.info
        return info.width, info.height, info.num_frames, Fraction(info.fps)


def _structure(frames: int, intra_period: int):
    """motion's random-access structure of ``frames`` frames at ``intra_period``."""
    from codec.families.motion.decode import coding_structure
    from codec.family import Geometry
    from codec.registry import get_family

    enc = EncodeConfig(model="motion", options={"intra_period": intra_period})
    config = get_family("motion").make_config(enc, Geometry(64, 64, frames, Fraction(25)))
    return coding_structure(config, frames)


def _intra_steps(enc: EncodeConfig) -> int:
    from codec.registry import get_family
    from codec.tools.fitoptions import quality_rung, step_limit

    family = get_family("motion")
    return step_limit(enc.options, family.ladder_steps(quality_rung(enc, family.ladder).length, 0))


def bench(clip_name: str, frames: int, width: int, quality: int | None, jobs: int, runs: list[str], out: Path,
          target: tuple[int, int, int], overhead: float, work: Path) -> str:
    """Encode the clip (its first ``frames`` at ``width`` pixels wide, made in ``work``) each way
    of ``runs`` into ``work``, project ``target`` (width, height, frames) from the first run's
    per-frame costs, save ``out/results.json`` and ``out/report.md`` and return the report."""
    from codec.families.motion.encode import frame_plan
    from codec.tools.workers import cores
    from eval.ladder_audit import prepare_clips

    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    seq = prepare_clips([clip_name], work / "clips", width=width, frames=frames)[0]
    clip = Path(seq.path)
    w, h, count, _ = geometry_of(clip)
    base = EncodeConfig(model="motion", quality=quality, device="cpu", count=count, progress=False)
    ways = {"jobs 1": dict(jobs=1), "jobs N": dict(jobs=jobs), "threads N": dict(threads=jobs),
            "ray": dict(ray="", jobs=jobs)}
    done = []
    for label in runs:
        shown = label.replace("N", str(jobs))
        print(f"{shown} ...", flush=True)
        run = run_encode(clip, work / f"{shown.replace(' ', '-')}.inrv", replace(base, **ways[label]), shown)
        print(f"  {run.seconds:.1f} s, {run.bytes} bytes, {run.psnr:.2f} dB", flush=True)
        done.append(run)
    intra_steps = _intra_steps(base)
    period = base.options.intra_period or DEFAULT_INTRA_PERIOD
    costs = step_costs(done[0], w, h, frame_plan(_structure(count, period), intra_steps, warm=True))
    tw, th, tf = target
    projections = project(costs, tf, tw, th, intra_steps, period, overhead=overhead)
    setting = {"clip": f"{clip_name} {w}x{h}", "frames": count, "quality": base.quality_level, "cpus": cores(),
               "out": str(out), "target": f"{tw}x{th}", "target_frames": tf, "intra_period": period,
               "overhead": overhead, "intra_steps": intra_steps}
    save(out / "results.json", done, projections, costs, setting)
    text = report(done, projections, costs, setting)
    (out / "report.md").write_text(text)
    return text
