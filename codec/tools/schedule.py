"""Running an encode's units of work (frames, groups) as a graph: each unit starts once the units
it needs are done, up to an executor's number of slots at a time, and the results are handed on
in coding order however they complete (``inrv encode --jobs N``, ``--ray``).

A family that codes frames from other frames' results describes its encode as :class:`Task`\\ s
(the coding position, the positions whose results it needs, a planned cost), a picklable function
run on each task's input, a function that builds a task's input from the results of what it
needs, and a consumer of results in coding order (its chunk written, its figures kept). The
result of a task depends on its input alone, so the file is the same bytes for any number of
jobs and any executor (:mod:`codec.tools.workers`), given one thread count per job.

Ready tasks start in the order of their bottom level, the longest chain of planned cost from a
task to the end of the graph (HLFET list scheduling, Adam, Chandy and Dickson, CACM 1974), so the
critical path is never kept waiting behind work that can wait. :func:`simulate` plays the same
policy on paper with measured or modelled costs (the wall time of an encode on ``W`` workers).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Task", "Executor", "run_graph", "bottom_levels", "simulate", "Simulated"]


@dataclass(frozen=True)
class Task:
    """One unit of work: its coding ``position`` (0..n-1; results are consumed in this order),
    the positions whose results its input is built from (``needs``, all before it in coding
    order), and its planned ``cost`` (steps, seconds: only the ratios matter)."""

    position: int
    needs: tuple[int, ...]
    cost: float = 1.0


class Executor(Protocol):
    """Where tasks run: ``slots`` at a time; :meth:`submit` starts ``fn(arg)`` and returns a handle,
    :meth:`wait` returns the handle and result of a task that has finished (re-raising its
    error), :meth:`close` ends the executor (``cancel``: stop what still runs, at once)."""

    slots: int

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Hashable: ...

    def wait(self) -> tuple[Hashable, Any]: ...

    def close(self, cancel: bool) -> None: ...


def _check(tasks: Sequence[Task]) -> None:
    for i, t in enumerate(tasks):
        if t.position != i or any(not 0 <= n < i for n in t.needs):
            raise ValueError(f"task {i}: positions must run 0..n-1 and a task needs only earlier tasks")


def bottom_levels(tasks: Sequence[Task]) -> list[float]:
    """Each task's cost plus the costliest chain of tasks that need it, down to the graph's end."""
    _check(tasks)
    level = [t.cost for t in tasks]
    for t in reversed(tasks):
        for n in t.needs:
            level[n] = max(level[n], tasks[n].cost + level[t.position])
    return level


class _Ready:
    """The tasks whose needs are done, best first (highest bottom level, then coding order), and
    the bookkeeping that releases a task when the last of its needs finishes: what
    :func:`run_graph` and :func:`simulate` share."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.level = bottom_levels(tasks)
        self.dependents: list[list[int]] = [[] for _ in tasks]
        for t in tasks:
            for n in set(t.needs):
                self.dependents[n].append(t.position)
        self.waiting = [len(set(t.needs)) for t in tasks]
        self.heap = [(-self.level[t.position], t.position) for t in tasks if not t.needs]
        heapq.heapify(self.heap)

    def __bool__(self) -> bool:
        return bool(self.heap)

    def pop(self) -> int:
        return heapq.heappop(self.heap)[1]

    def finished(self, position: int) -> None:
        for d in self.dependents[position]:
            self.waiting[d] -= 1
            if self.waiting[d] == 0:
                heapq.heappush(self.heap, (-self.level[d], d))


def run_graph(tasks: Sequence[Task], fn: Callable[[Any], Any], make_input: Callable[[int, Mapping[int, Any]], Any],
              consume: Callable[[int, Any], None], executor: Executor,
              on_change: Callable[[tuple[int, ...]], None] | None = None) -> None:
    """Run every task on ``executor``: ``make_input(position, results)`` (``results``: the results
    of the positions it needs) builds a task's argument once its needs are done, ``fn(argument)``
    is its result, and ``consume(position, result)`` sees the results in coding order as soon as
    every earlier one has been consumed. ``on_change(in_flight)`` hears the positions running after
    each start and finish (a progress bar's). A result is dropped once consumed and once every task
    needing it has started. An error ends the run: the executor is closed with ``cancel`` and the
    error is raised."""
    ready = _Ready(tasks)
    uses = [len(d) for d in ready.dependents]
    results: dict[int, Any] = {}
    done: set[int] = set()
    running: dict[Hashable, int] = {}
    consumed = 0

    def drop(position: int) -> None:
        if uses[position] == 0 and position < consumed:
            results.pop(position, None)

    try:
        while consumed < len(tasks):
            while ready and len(running) < executor.slots:
                position = ready.pop()
                arg = make_input(position, {n: results[n] for n in tasks[position].needs})
                running[executor.submit(fn, arg)] = position
                for n in set(tasks[position].needs):
                    uses[n] -= 1
                    drop(n)
            if on_change is not None:
                on_change(tuple(sorted(running.values())))
            if not running:
                raise RuntimeError("no task can start: the graph is not complete")  # guarded by _check
            handle, result = executor.wait()
            position = running.pop(handle)
            results[position] = result
            done.add(position)
            ready.finished(position)
            while consumed < len(tasks) and consumed in done:
                consume(consumed, results[consumed])
                consumed += 1
                drop(consumed - 1)
            if on_change is not None:
                on_change(tuple(sorted(running.values())))
    except BaseException:
        executor.close(cancel=True)
        raise
    executor.close(cancel=False)


@dataclass(frozen=True)
class Simulated:
    """:func:`simulate`'s answer: the wall time on the workers, the critical path (the wall time
    on unlimited workers), the total work (the wall time on one) and the number of workers."""

    wall: float
    critical_path: float
    work: float
    workers: int

    @property
    def speedup(self) -> float:
        return self.work / self.wall if self.wall > 0 else 1.0

    @property
    def utilisation(self) -> float:
        return self.work / (self.wall * self.workers) if self.wall > 0 else 1.0


def simulate(tasks: Sequence[Task], workers: int, overhead: float = 0.0) -> Simulated:
    """The wall time of :func:`run_graph`'s policy on ``workers`` identical workers when each task
    takes its ``cost`` plus ``overhead`` (a task's start, its inputs' and result's transfer)."""
    if workers < 1:
        raise ValueError("at least one worker")
    tasks = [Task(t.position, t.needs, t.cost + overhead) for t in tasks]
    ready = _Ready(tasks)
    finish: dict[int, float] = {}
    free = [0.0] * workers  # when each worker is next free
    events: list[tuple[float, int]] = []  # (finish time, position)
    now = 0.0
    while len(finish) < len(tasks):
        while ready and min(free) <= now:
            position = ready.pop()
            w = free.index(min(free))
            end = now + tasks[position].cost
            free[w] = end
            heapq.heappush(events, (end, position))
        now, position = heapq.heappop(events)
        finish[position] = now
        ready.finished(position)
    return Simulated(wall=max(finish.values(), default=0.0), critical_path=max(ready.level, default=0.0),
                     work=sum(t.cost for t in tasks), workers=workers)
