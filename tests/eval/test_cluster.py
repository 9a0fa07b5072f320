"""RD sweeps through Ray (eval/cluster.py, ``inrv eval --ray``) on a local Ray runtime: the same
results as a local sweep, a killed driver resumes, a failing task is retried and then reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from codec.errors import ConfigError  # noqa: E402
from eval.cluster import RETRIES, RayExecutor  # noqa: E402
from eval.methods import InrvOptions, get_methods  # noqa: E402
from eval.sweep import SweepConfig, failed_path, result_path, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("bpp", "psnr-rgb", "psnr-yuv", "ms-ssim")


@pytest.fixture(scope="module")
def executor():
    """One local Ray runtime for the module: two CPUs, one inrv thread per task, the repository
    importable on the workers (for the failing stand-in method)."""
    env = {"INRV_THREADS": "1", "PYTHONPATH": str(ROOT)}
    runner = RayExecutor(None, num_cpus=2, runtime_env={"env_vars": env})
    yield runner
    ray.shutdown()


def _figures(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {"settings": data["settings"], **{k: data["results"][k] for k in FIGURES},
            "bytes": [e.get("bytes", e.get("stream-bytes")) for e in data["extra"]]}


def test_a_ray_sweep_writes_the_results_of_a_local_one(executor, carphone_small, tmp_path, monkeypatch):
    monkeypatch.setenv("INRV_THREADS", "1")  # as on the workers: the same thread count, the same figures
    methods = get_methods("nerv,x264-medium", InrvOptions(steps=3, device="cpu"))
    values = {"nerv": ("4",), "x264-medium": ("30", "40")}
    outcomes = {}
    for name, runner in (("local", None), ("ray", executor)):
        config = SweepConfig(out=tmp_path / name, dataset="folder", values=values, progress=False,
                             keep_bitstreams=True)
        outcomes[name] = run_sweep([carphone_small], methods, config, executor=runner)
    assert outcomes["ray"].ran == outcomes["local"].ran == 3 and not outcomes["ray"].failed
    for method in ("nerv", "x264-medium"):
        local, remote = (result_path(tmp_path / n, "folder", carphone_small.name, method) for n in ("local", "ray"))
        assert _figures(local) == _figures(remote), method
    streams = [{p.name: p.read_bytes() for p in (tmp_path / n / "work").rglob("*") if p.is_file()}
               for n in ("local", "ray")]
    assert sorted(streams[0]) == sorted(streams[1]) and len(streams[0]) == 3  # kept, and come back from the workers
    for name, data in streams[0].items():
        if name.startswith("x264"):
            assert streams[1][name] == data, name  # the anchor's bitstream, byte for byte


def test_a_failing_task_is_retried_then_reported(executor, carphone_small, tmp_path):
    from tests.eval.cluster_methods import Failing

    attempts = tmp_path / "attempts.txt"
    methods = [Failing(attempts)] + get_methods("x264-medium")
    config = SweepConfig(out=tmp_path / "run", dataset="folder", values={"failing": ("30",), "x264-medium": ("30",)},
                         progress=False)
    outcome = run_sweep([carphone_small], methods, config, executor=executor)
    assert attempts.read_text().count("attempt") == 1 + RETRIES
    assert [(f["method"], f["setting"]) for f in outcome.failed] == [("failing", {"crf": 30})]
    assert "this encoder always fails" in outcome.failed[0]["error"]
    listed = json.loads(failed_path(tmp_path / "run", "folder").read_text())
    assert listed == list(outcome.failed)
    assert result_path(tmp_path / "run", "folder", carphone_small.name, "x264-medium").exists()  # the rest finished


def test_a_point_no_node_can_hold_is_refused_before_any_task(executor, carphone_small, tmp_path):
    """Three jobs of one thread on a runtime of two CPUs: one error line, nothing run."""
    methods = get_methods("motion,x264-medium", InrvOptions(jobs=3, device="cpu"))
    config = SweepConfig(out=tmp_path / "run", dataset="folder", values={"motion": ("4",), "x264-medium": ("30",)},
                         progress=False)
    with pytest.raises(ConfigError, match="needs 3 CPUs on one node, and the cluster's largest node has 2: "
                                          "use --jobs 2 or fewer"):
        run_sweep([carphone_small], methods, config, executor=executor)
    assert not (tmp_path / "run" / "results").exists()


def test_a_killed_driver_resumes(executor, carphone_small, tmp_path):
    out = tmp_path / "run"
    args = ["--files", f"carphone={carphone_small.path}", "--methods", "x264-medium", "--values",
            "x264-medium=24,30,36,42,48", "--out", str(out), "--no-progress", "--ray"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen([sys.executable, "-m", "codec.cli", "eval", *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    path = result_path(out, "folder", "carphone", "x264-medium")
    deadline = time.monotonic() + 120
    while not path.exists():
        assert driver.poll() is None, driver.communicate()[1]
        assert time.monotonic() < deadline, "no point finished"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=60)
    done = len(json.loads(path.read_text())["settings"])
    from eval.cli import main

    assert main(args) == 0  # resumed here, through the same Ray runtime
    settings = json.loads(path.read_text())["settings"]
    assert sorted(s["crf"] for s in settings) == [24, 30, 36, 42, 48]
    assert 1 <= done <= 5


def test_without_ray_nothing_imports_it():
    script = ("import sys, eval.cli, eval.sweep, eval.methods\n"
              "eval.cli.main(['--files', 'carphone', '--methods', 'list'])\n"
              "print('ray' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
