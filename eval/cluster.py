"""Rate-distortion points as Ray tasks (``inrv eval --ray [ADDRESS]``): the sweep's plan runs on a
cluster that users already run, and results land where a local sweep puts them.

* Each (sequence, method, setting) point is one task: one CPU, and one GPU for an inrv point when
  the cluster has GPUs. The driver keeps writing each point's result file (atomically) as its
  task finishes, so a killed driver resumes like a local sweep: finished points are skipped.
* Sources reach the workers without a shared disk: each sequence's lossless file is put into
  Ray's object store once and written to a temporary folder on the worker that runs a point.
  The bitstreams (``--keep-bitstreams``) come back the same way; measures are small results.
* A task that fails (an exception, or its worker killed: out of memory, a lost node) is retried
  :data:`RETRIES` times, then reported as a failed point with its error line; the others go on.

Ray is an optional extra (``pip install "inrv[cluster]"``); nothing imports it without ``--ray``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eval.results import PointResult

RETRIES = 2

__all__ = ["RETRIES", "PointFailure", "RayExecutor", "task_overhead"]


@dataclass(frozen=True)
class PointFailure:
    """A point whose task failed after its retries: the error's last line."""

    error: str


def _point_task(method, seq, setting, source: bytes, chunk: int, keep: bool) -> tuple[PointResult, dict[str, bytes]]:
    """One point on a worker: the source written locally, then :func:`eval.sweep.run_point`. An
    inrv point trains with the CPUs its task holds (``INRV_THREADS`` unless already set): tasks
    side by side on one machine would otherwise each use every core and slow each other down."""
    import os

    import ray

    from eval.sweep import FRAMES_PREFIX, run_point

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    os.environ.setdefault("INRV_THREADS", str(max(1, int(cpus))))
    with tempfile.TemporaryDirectory(prefix="inrv-point-") as tmp:
        local = Path(tmp) / Path(seq.path).name
        local.write_bytes(source)
        work, frames = Path(tmp) / "work", Path(tmp) / "frames"
        point = run_point(method, dataclasses.replace(seq, path=local), setting, work, chunk=chunk, keep=keep,
                          frames=frames)
        files = {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()} if keep else {}
        if frames.is_dir():
            files |= {FRAMES_PREFIX + p.name: p.read_bytes() for p in frames.iterdir()}
    return point, files


def _error_line(exc: BaseException) -> str:
    """The last non-empty line of an error (Ray wraps a task's traceback around it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class RayExecutor:
    """Runs a sweep's points as Ray tasks on the cluster at ``address`` (None: a local runtime, or
    the one ``RAY_ADDRESS`` names; ``"auto"``: the running cluster this machine belongs to)."""

    def __init__(self, address: str | None = None, retries: int = RETRIES, **init) -> None:
        try:
            import ray
        except ImportError:
            from codec.errors import ConfigError

            raise ConfigError('--ray needs Ray: pip install "inrv[cluster]"') from None
        self.ray, self.retries = ray, retries
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", **init)

    def run(self, plan: list, chunk: int, keep: bool) -> Iterator[tuple[int, PointResult | PointFailure, dict]]:
        """``(index in plan, result or failure, bitstream files)`` as tasks finish."""
        ray = self.ray
        gpus = ray.cluster_resources().get("GPU", 0)
        task = ray.remote(_point_task)
        sources: dict[str, object] = {}
        refs = {}
        for i, (seq, method, setting, _) in enumerate(plan):
            key = str(seq.path)
            if key not in sources:
                sources[key] = ray.put(Path(seq.path).read_bytes())
            options = {"num_cpus": 1, "max_retries": self.retries, "retry_exceptions": True}
            if method.kind == "inrv" and gpus:
                options["num_gpus"] = 1
            refs[task.options(**options).remote(method, seq, setting, sources[key], chunk, keep)] = i
        pending = list(refs)
        while pending:
            (ref,), pending = ray.wait(pending, num_returns=1)
            try:
                point, files = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a task's error after its retries, reported
                yield refs[ref], PointFailure(_error_line(exc)), {}
            else:
                yield refs[ref], point, files


def _nothing() -> None:
    return None


def task_overhead(tasks: int = 50) -> float:
    """Seconds per task that Ray adds on the running runtime: the mean round trip of ``tasks``
    empty tasks submitted one after another (scheduling, a worker's call, the result back)."""
    import time

    import ray

    task = ray.remote(_nothing)
    ray.get(task.remote())  # a worker up
    start = time.perf_counter()
    for _ in range(tasks):
        ray.get(task.remote())
    return (time.perf_counter() - start) / tasks
