"""Executors of :func:`codec.tools.schedule.run_graph`: where an encode's tasks run.

* :class:`InProcess`: one task at a time in this process (``--jobs 1``, and every family that
  runs its tasks without being asked to spread them).
* :class:`Processes`: ``jobs`` worker processes on this machine (``--jobs N``), each started fresh
  (``spawn``: a forked copy of a process running torch's thread pools can hang) with
  ``threads`` torch threads, ignoring Ctrl-C and stop signals (the encode's own process answers
  them: it ends the workers and removes its output; a worker that dies, killed for memory say,
  ends the encode with one line).
* :class:`RayTasks`: Ray tasks on a cluster (``--ray [ADDRESS]``), each holding ``threads`` CPUs;
  a task's input travels with it (no shared disk), a failed task is retried :data:`RETRIES`
  times. Ray is the optional ``cluster`` extra, imported only here and only when asked for.

Every executor runs a task as :func:`call` does: with ``threads`` torch threads, so a task's
result is the same wherever it runs.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from codec.errors import ConfigError, EncodeError

__all__ = ["InProcess", "Processes", "RayTasks", "RETRIES", "call", "cores", "executor_for"]

#: Times a failed Ray task is tried again before the encode fails.
RETRIES = 2


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def call(fn: Callable[[Any], Any], arg: Any, threads: int) -> Any:
    """``fn(arg)`` with ``threads`` torch threads (what every executor runs)."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return fn(arg)


class InProcess:
    """Tasks one at a time, here, when :meth:`wait` asks for the next result."""

    slots = 1

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.queue: list[tuple[int, Callable[[Any], Any], Any]] = []
        self.ids = itertools.count()

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Hashable:
        handle = next(self.ids)
        self.queue.append((handle, fn, arg))
        return handle

    def wait(self) -> tuple[Hashable, Any]:
        handle, fn, arg = self.queue.pop(0)
        return handle, call(fn, arg, self.threads)

    def close(self, cancel: bool) -> None:
        self.queue.clear()


def _orphaned(parent: int) -> None:
    """End this worker as soon as the encode's process is gone (killed with no chance to end it)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _worker_start(threads: int) -> None:
    """A worker process's start: stop signals are the encode's process's to answer, a worker
    does not outlive that process, and torch gets its thread count before anything runs."""
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    threading.Thread(target=_orphaned, args=(os.getppid(),), daemon=True).start()
    import torch

    torch.set_num_threads(threads)


class Processes:
    """``jobs`` worker processes, each with ``threads`` torch threads."""

    def __init__(self, jobs: int, threads: int) -> None:
        self.slots, self.threads = jobs, threads
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_start, initargs=(threads,))
        self.futures: set[Future] = set()

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Hashable:
        future = self.pool.submit(call, fn, arg, self.threads)
        self.futures.add(future)
        return future

    def wait(self) -> tuple[Hashable, Any]:
        finished, _ = wait_futures(self.futures, return_when=FIRST_COMPLETED)
        future = min(finished, key=id)
        self.futures.discard(future)
        try:
            return future, future.result()
        except BrokenProcessPool:
            raise EncodeError("a worker process of the encode ended before its frame was done (killed, out of "
                              "memory with fewer --jobs as the remedy, or unable to start: workers re-import the "
                              "program that runs the encode, which a script read from standard input cannot be)"
                              ) from None

    def close(self, cancel: bool) -> None:
        if cancel:
            workers = list(getattr(self.pool, "_processes", {}).values())  # ended at once, not after their task
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                if process.is_alive():
                    process.kill()  # they ignore SIGTERM
            for process in workers:
                process.join(timeout=5)
        else:
            self.pool.shutdown(wait=True)
        self.futures.clear()


class RayTasks:
    """Ray tasks on the cluster at ``address`` (None: a local runtime, or the one ``RAY_ADDRESS``
    names; ``"auto"``: the running cluster this machine belongs to), ``slots`` of them at a time,
    each holding ``threads`` CPUs."""

    def __init__(self, address: str | None, slots: int | None, threads: int, retries: int = RETRIES) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError('--ray needs Ray: pip install "inrv[cluster]"') from None
        self.ray, self.threads = ray, threads
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = slots if slots else max(1, cpus // threads)
        self.task = ray.remote(call).options(num_cpus=threads, max_retries=retries, retry_exceptions=True)
        self.pending: set = set()

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Hashable:
        ref = self.task.remote(fn, arg, self.threads)
        self.pending.add(ref)
        return ref

    def wait(self) -> tuple[Hashable, Any]:
        (ref,), _ = self.ray.wait(list(self.pending), num_returns=1)
        self.pending.discard(ref)
        try:
            return ref, self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise EncodeError(f"a Ray task of the encode failed after {RETRIES} retries: "
                              f"{lines[-1] if lines else type(exc).__name__}") from None

    def close(self, cancel: bool) -> None:
        if cancel:
            for ref in self.pending:
                self.ray.cancel(ref, force=True)
        self.pending.clear()


def executor_for(jobs: int | None, ray: str | None, threads: int):
    """The executor an encode's ``jobs`` and ``ray`` ask for (:class:`codec.config.EncodeConfig`):
    Ray tasks when ``ray`` is set (``jobs`` at a time, or as many as the cluster's CPUs hold),
    else ``jobs`` processes here (0: one per core's worth of ``threads``), else this process."""
    if ray is not None:
        return RayTasks(ray or None, jobs or None, threads)
    if jobs == 0:
        jobs = max(1, cores() // threads)
    if jobs is None or jobs == 1:
        return InProcess(threads)
    return Processes(jobs, threads)
