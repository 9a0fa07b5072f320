"""Rate-distortion points as Ray tasks (``inrv eval --ray [ADDRESS]``): the sweep's plan runs on a
cluster that users already run, and results land where a local sweep puts them.

* Each (sequence, method, setting) point is one task (:func:`task_plan`): an anchor's holds one
  CPU; an inrv point's holds its jobs x threads per job CPUs (``inrv eval --jobs N --threads T``:
  N x T; one job for a family that runs as one job) and one GPU when the cluster has GPUs, so Ray
  never puts more training threads on a node than it has cores. Its jobs are worker processes on
  the task's node (:class:`codec.tools.workers.Processes`), not more Ray tasks. A point needing
  more CPUs than the cluster's largest node has is refused before any task starts. The driver
  keeps writing each point's result file (atomically) as its task finishes, so a killed driver
  resumes like a local sweep: finished points are skipped.
* Sources reach the workers without a shared disk: each sequence's lossless file is put into
  Ray's object store once and written to a temporary folder on the worker that runs a point.
  The bitstreams (``--keep-bitstreams``) come back the same way; measures are small results.
* A task that fails (an exception, or its worker killed: out of memory, a lost node) is retried
  :data:`RETRIES` times, then reported as a failed point with its error line; the others go on.

Ray is an optional extra (``pip install "inrv[cluster]"``); nothing imports it without ``--ray``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codec.errors import ConfigError
from eval.results import PointResult

RETRIES = 2

__all__ = ["RETRIES", "PointFailure", "RayExecutor", "TaskPlan", "task_plan", "task_overhead"]


@dataclass(frozen=True)
class PointFailure:
    """A point whose task failed after its retries: the error's last line."""

    error: str


@dataclass(frozen=True)
class TaskPlan:
    """How one point runs as a Ray task: the method as the task runs it (``jobs`` resolved to a
    count), the CPUs and GPUs the task holds, and the threads of each of its jobs (``INRV_THREADS``
    during the task unless the workers' environment sets it; None for an anchor)."""

    method: object
    cpus: int
    gpus: int
    threads: int | None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def task_plan(method, *, largest_node: int, gpus: bool) -> TaskPlan:
    """The resources of a point of ``method`` on a cluster whose largest node has ``largest_node``
    CPUs (``gpus``: the cluster has GPUs). An inrv point holds jobs x threads per job CPUs: its
    ``jobs`` (``0``: as many as the largest node's CPUs hold) where its family runs frames as jobs,
    else one. :class:`ConfigError` when that is more than the largest node has: Ray could never
    start the task."""
    if method.kind != "inrv":
        return TaskPlan(method, cpus=1, gpus=0, threads=None)
    threads = method.threads or 1  # None: the one CPU the task holds
    jobs = getattr(method, "jobs", None)
    if jobs is not None:
        from codec.registry import get_family

        if get_family(method.family).serial_reason is None:
            jobs = jobs or max(1, largest_node // threads)
            method = method.with_jobs(jobs)
        else:
            jobs = 1  # the encode runs as one job (its result's note says why)
    jobs = jobs or 1
    cpus = jobs * threads
    if cpus > largest_node:
        fewer = (f"--jobs {largest_node // threads}" if jobs > 1 and threads <= largest_node
                 else f"--threads {largest_node}")
        raise ConfigError(f"a {method.name} point of {_plural(jobs, 'job')} x {_plural(threads, 'thread')} needs "
                          f"{cpus} CPUs on one node, and the cluster's largest node has {largest_node}: "
                          f"use {fewer} or fewer")
    return TaskPlan(method, cpus=cpus, gpus=1 if gpus else 0, threads=threads)


@contextmanager
def _inrv_threads(threads: int | None):
    """``INRV_THREADS`` set to ``threads`` for a task, unless the workers' environment sets it
    (a worker process runs many tasks: it is removed afterwards)."""
    if threads is None or "INRV_THREADS" in os.environ:
        yield
        return
    os.environ["INRV_THREADS"] = str(threads)
    try:
        yield
    finally:
        os.environ.pop("INRV_THREADS", None)


def _point_task(method, seq, setting, source: bytes, chunk: int, keep: bool,
                threads: int | None) -> tuple[PointResult, dict[str, bytes]]:
    """One point on a worker: the source written locally, then :func:`eval.sweep.run_point`. An
    inrv point trains with ``threads`` threads per job (:func:`task_plan`; its jobs are worker
    processes here): tasks side by side on one machine would otherwise each use every core."""
    from eval.sweep import FRAMES_PREFIX, run_point

    with _inrv_threads(threads), tempfile.TemporaryDirectory(prefix="inrv-point-") as tmp:
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
            raise ConfigError('--ray needs Ray: pip install "inrv[cluster]"') from None
        self.ray, self.retries = ray, retries
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", **init)

    def run(self, plan: list, chunk: int, keep: bool) -> Iterator[tuple[int, PointResult | PointFailure, dict]]:
        """``(index in plan, result or failure, bitstream files)`` as tasks finish."""
        ray = self.ray
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        largest = int(max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0))
        plans: dict[str, TaskPlan] = {}
        for _, method, _, _ in plan:  # every point's resources, checked before any task starts
            if method.name not in plans:
                plans[method.name] = task_plan(method, largest_node=largest, gpus=gpus)
        task = ray.remote(_point_task)
        sources: dict[str, object] = {}
        refs = {}
        for i, (seq, method, setting, _) in enumerate(plan):
            key = str(seq.path)
            if key not in sources:
                sources[key] = ray.put(Path(seq.path).read_bytes())
            how = plans[method.name]
            options = {"num_cpus": how.cpus, "max_retries": self.retries, "retry_exceptions": True}
            if how.gpus:
                options["num_gpus"] = how.gpus
            refs[task.options(**options).remote(how.method, seq, setting, sources[key], chunk, keep, how.threads)] = i
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
