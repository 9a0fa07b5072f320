"""inrv eval --jobs: each inrv point's encode as jobs (the same figures for any number), what the
settings and result files record, and what a point holds as a Ray task (eval.cluster.task_plan,
checked without starting Ray)."""

from __future__ import annotations

import json

import pytest

from codec.errors import ConfigError
from eval.base import Setting
from eval.cli import main
from eval.cluster import task_plan
from eval.datasets import Sequence, folder_sources, prepare
from eval.inrv import InrvMethod
from eval.methods import InrvOptions, get_method, get_methods
from eval.sweep import result_path, run_point

MOTION = {"intra_period": 4}  # I0 P4 B2 B1 B3 on 5 frames: B1 and B3 train at once


@pytest.fixture(scope="module")
def five(tmp_path_factory) -> Sequence:
    """carphone shrunk by 2 (88x72), first 5 frames."""
    (source,) = folder_sources(files=["carphone"])
    return prepare(source, frames=5, scale=2, cache_dir=tmp_path_factory.mktemp("five"))


def _motion(**kw) -> InrvMethod:
    return InrvMethod("motion", steps=8, device="cpu", options=MOTION, **kw)


def test_a_motion_point_has_the_same_figures_for_any_number_of_jobs(five, tmp_path):
    """In the sweep's process (one thread) and as two worker processes of one thread each: the
    same file size and the same quality."""
    serial, jobs = _motion(threads=1), _motion(jobs=2)
    assert jobs.threads == 1 and jobs.describe() == serial.describe()  # a resumed run may change --jobs
    points = [run_point(m, five, Setting("quality", 4), tmp_path / name)
              for name, m in (("serial", serial), ("jobs", jobs))]
    figures = [(p.num_bytes, p.psnr_rgb, p.psnr_yuv, p.ms_ssim) for p in points]
    assert figures[0] == figures[1]
    assert "jobs" not in points[0].extra
    assert points[1].extra["jobs"] == 2 and points[1].extra["jobs-at-once"] == 2 and "note" not in points[1].extra


def test_jobs_reach_the_encode_and_are_recorded(carphone_small, tmp_path, fake_codec):
    (method,) = get_methods("fake", InrvOptions(jobs=3))
    config = method._config(carphone_small, Setting("quality", 4))
    assert (config.jobs, config.threads, config.job_threads) == (3, 1, 1)
    assert get_method("fake", InrvOptions(jobs=0, threads=2))._config(carphone_small, Setting("quality", 4)).jobs == 0
    assert get_method("x264-medium", InrvOptions(jobs=3)).describe() == get_method("x264-medium").describe()
    out = tmp_path / "run"
    assert main(["--files", f"carphone={carphone_small.path}", "--methods", "fake", "--values", "fake=3",
                 "--jobs", "2", "--out", str(out), "--no-progress"]) == 0
    data = json.loads(result_path(out, "folder", "carphone", "fake").read_text())
    assert data["method"]["threads"] == 1 and data["extra"][0]["jobs"] == 2
    report = (out / "report.md").read_text()
    assert "| inrv threads | 1 CPU thread per job and per decode (they decide the file) |" in report
    assert "| inrv jobs | 2 per encode (worker processes;" in report


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_bad_jobs_value_is_one_usage_line(value, tmp_path, capsys):
    assert main(["--files", "carphone", "--methods", "nerv", "--jobs", value, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--jobs" in err[0]


def test_a_ray_point_holds_its_jobs_times_threads_cpus():
    anchor = task_plan(get_method("x264-medium"), largest_node=8, gpus=True)
    assert (anchor.cpus, anchor.gpus, anchor.threads) == (1, 0, None)
    plain = task_plan(InrvMethod("nerv"), largest_node=8, gpus=False)  # threads: the task's one CPU
    assert (plain.cpus, plain.gpus, plain.threads) == (1, 0, 1)
    plan = task_plan(_motion(jobs=3, threads=2), largest_node=8, gpus=True)
    assert (plan.cpus, plan.gpus, plan.threads, plan.method.jobs) == (6, 1, 2, 3)
    auto = _motion(jobs=0, threads=2)
    plan = task_plan(auto, largest_node=7, gpus=False)
    assert (plan.cpus, plan.method.jobs, auto.jobs) == (6, 3, 0)  # as many as the largest node holds
    chain = task_plan(InrvMethod("nerv", jobs=4, threads=2), largest_node=8, gpus=False)
    assert chain.cpus == 2  # runs as one job: holds one job's threads


def test_a_ray_point_larger_than_any_node_is_refused():
    with pytest.raises(ConfigError, match=r"4 jobs x 2 threads needs 8 CPUs .* largest node has 6: use --jobs 3 or"):
        task_plan(_motion(jobs=4, threads=2), largest_node=6, gpus=False)
    with pytest.raises(ConfigError, match=r"use --threads 4 or fewer"):
        task_plan(InrvMethod("nerv", threads=8), largest_node=4, gpus=False)
