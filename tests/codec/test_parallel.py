"""One encode's frames as tasks (:mod:`codec.tools.schedule`, :mod:`codec.tools.workers`):
the scheduler's order and bookkeeping, the same file for any ``--jobs``, the families that run as
one job, and a stopped parallel encode leaving nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import codec
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.tools.schedule import Task, bottom_levels, run_graph, simulate
from codec.tools.workers import InProcess, Processes, executor_for


class Shuffled:
    """An executor that finishes its tasks in reverse order of submission, ``slots`` at a time."""

    def __init__(self, slots: int) -> None:
        self.slots, self.queue, self.closed = slots, [], None

    def submit(self, fn, arg):
        self.queue.append((len(self.queue) + 1000 * arg, fn, arg))
        return self.queue[-1][0]

    def wait(self):
        handle, fn, arg = self.queue.pop()
        return handle, fn(arg)

    def close(self, cancel):
        self.closed = cancel


def _square(x: int) -> int:
    if x < 0:
        raise ValueError("negative")
    return x * x


def diamond() -> list[Task]:
    # 0 -> 1, 0 -> 2 (long), 1 & 2 -> 3, 0 -> 4
    return [Task(0, (), 1), Task(1, (0,), 1), Task(2, (0,), 5), Task(3, (1, 2), 1), Task(4, (0,), 1)]


def test_results_are_consumed_in_coding_order_whatever_order_tasks_finish():
    tasks = diamond()
    seen, inputs, flights = [], {}, []

    def make_input(position, results):
        inputs[position] = dict(results)
        return position

    executor = Shuffled(3)
    run_graph(tasks, _square, make_input, lambda p, r: seen.append((p, r)), executor, flights.append)
    assert seen == [(p, p * p) for p in range(5)]
    assert inputs[3] == {1: 1, 2: 4} and inputs[0] == {}
    assert max(len(f) for f in flights) == 3 and executor.closed is False


def test_the_critical_path_starts_first():
    """Bottom levels: task 2 (cost 5) leads to 3, so after 0 it starts before 1 and 4."""
    tasks = diamond()
    assert bottom_levels(tasks) == [7, 2, 6, 1, 1]
    order = []
    run_graph(tasks, _square, lambda p, r: p, lambda p, r: None, InProcess(1),
              lambda running: order.extend(p for p in running if p not in order))
    assert order == [0, 2, 1, 3, 4]  # equal levels: coding order


def test_an_error_cancels_the_executor_and_is_raised():
    executor = Shuffled(2)
    with pytest.raises(ValueError, match="negative"):
        run_graph(diamond(), _square, lambda p, r: -1 if p == 2 else p, lambda p, r: None, executor)
    assert executor.closed is True


def test_a_task_may_only_need_earlier_tasks():
    with pytest.raises(ValueError):
        bottom_levels([Task(0, (1,)), Task(1, ())])


def test_simulation_bounds():
    tasks = diamond()
    one, many = simulate(tasks, 1), simulate(tasks, 64)
    assert one.wall == one.work == 9
    assert many.wall == many.critical_path == 7
    two = simulate(tasks, 2)
    assert 7 <= two.wall <= 9 and two.speedup == pytest.approx(9 / two.wall)
    assert simulate(tasks, 64, overhead=1).critical_path == 10  # three tasks on the path, one each


def test_worker_processes_run_tasks_and_end():
    executor = Processes(2, threads=1)
    seen = []
    run_graph(diamond(), _square, lambda p, r: p, lambda p, r: seen.append(r), executor)
    assert seen == [0, 1, 4, 9, 16]


def test_executor_choice():
    assert isinstance(executor_for(None, None, 1), InProcess)
    assert isinstance(executor_for(1, None, 2), InProcess)
    with pytest.raises(ConfigError, match="--jobs"):
        EncodeConfig(model="motion", jobs=-1)
    assert EncodeConfig(model="motion", jobs=2).job_threads == 1
    assert EncodeConfig(model="motion", jobs=2, threads=2).job_threads == 2
    assert EncodeConfig(model="motion").job_threads is None


def _motion(clip: Path, out: Path, warm: bool = False, **kw) -> bytes:
    options = {"steps": 8, "intra_period": 4} | ({"warm": True} if warm else {})
    result = codec.encode(clip, out, EncodeConfig(model="motion", device="cpu", progress=False, count=5,
                                                  options=options, **kw))
    assert result.num_frames == 5
    return out.read_bytes()


@pytest.fixture(scope="module")
def serial(carphone_y4m, tmp_path_factory) -> bytes:
    """The motion file of an encode in this process, one thread."""
    return _motion(carphone_y4m, tmp_path_factory.mktemp("serial") / "a.inrv", threads=1)


def test_motion_gives_the_same_file_for_any_number_of_jobs(carphone_y4m, tmp_path, serial):
    """One thread per job: in this process, on one worker, on two workers (frames 1 and 3 of the
    structure I0 P4 B2 B1 B3 train side by side), the same bytes."""
    assert _motion(carphone_y4m, tmp_path / "b.inrv", jobs=1) == serial
    two = codec.encode(carphone_y4m, tmp_path / "c.inrv",
                       EncodeConfig(model="motion", device="cpu", progress=False, count=5, jobs=2,
                                    options={"steps": 8, "intra_period": 4}))
    assert (tmp_path / "c.inrv").read_bytes() == serial
    assert two.jobs == 2 and two.threads == 1 and two.note is None


def test_warm_starts_give_the_same_file_for_any_number_of_jobs(carphone_y4m, tmp_path):
    """With --warm a frame also needs the frame its latents start from (fixed by the structure)."""
    one = _motion(carphone_y4m, tmp_path / "a.inrv", warm=True, threads=1)
    assert _motion(carphone_y4m, tmp_path / "b.inrv", warm=True, jobs=2) == one


def test_motion_on_ray_gives_the_same_file(carphone_y4m, tmp_path, serial):
    """Ray tasks on a local runtime (two CPUs): the frames and results travel through Ray's object
    store, and the file is the serial encode's."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        assert _motion(carphone_y4m, tmp_path / "r.inrv", ray="") == serial
    finally:
        ray.shutdown()


def test_a_family_that_is_a_chain_runs_as_one_job_and_says_so(carphone_y4m, tmp_path):
    config = EncodeConfig(model="nirvana", device="cpu", progress=False, count=2, jobs=2,
                          options={"steps": 2, "gop": 1, "preset": "xs"})
    result = codec.encode(carphone_y4m, tmp_path / "n.inrv", config)
    assert result.jobs == 1 and result.threads == 1
    assert result.note is not None and "one job" in result.note and "chain" in result.note


def test_a_stopped_parallel_encode_leaves_no_file_and_no_process(carphone_y4m, tmp_path):
    """SIGTERM while two worker processes train: the encode ends 128 + 15 within the grace time,
    its partial file removed and its workers ended."""
    proc = subprocess.Popen([sys.executable, "-m", "codec.cli", "encode", str(carphone_y4m), "-o", "out.inrv",
                             "--model", "motion", "--steps", "100000", "--intra-period", "2", "--jobs", "2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _workers(proc.pid) < 1:  # a worker training frame 0
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no workers"
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert list(tmp_path.iterdir()) == []
        deadline = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), "a worker outlived the encode"
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def _workers(pid: int) -> int:
    """Worker processes (multiprocessing's ``spawn_main``) whose parent is ``pid`` (Linux /proc)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat, command = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                count += 1
    return count


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_frame_plan_starts_a_frame_from_an_ancestor_of_its_type():
    from codec.families.motion.encode import frame_plan
    from tests.codec.test_motion import config
    from codec.families.motion.decode import coding_structure

    structure = coding_structure(config(intra_period=8), 9)  # I0 I8 B4 B2 B1 B3 B6 B5 B7
    plan = frame_plan(structure, 100, warm=True)
    display = [f.display for f in structure.frames]
    starts = {display[i]: (display[w] if w is not None else None) for i, w in enumerate(plan.warm)}
    assert starts[0] is None and starts[8] == 0 and starts[4] is None  # the first B frame starts from zero
    assert starts[2] == 4 and starts[1] == 2 and starts[3] == 2 and starts[6] == 4 and starts[5] == 6
    tasks = plan.tasks
    assert all(set(t.needs) >= ({plan.warm[t.position]} - {None}) for t in tasks)
    assert [t.needs for t in frame_plan(structure, 100, warm=False).tasks][4] == (0, 2, 3)  # B1: refs 0, 2; B4's nets
