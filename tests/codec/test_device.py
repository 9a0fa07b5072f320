"""CPU thread count: a fixed default (the same command gives the same file), explicit choices,
clean errors."""

from __future__ import annotations

import os

import pytest
import torch

import codec
import codec.device as device
from codec.cli import main
from codec.config import EncodeConfig
from codec.errors import ConfigError


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    monkeypatch.delenv("INRV_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_is_every_core_whatever_the_load(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    for load in (0.0, 1.7, 40.0):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert device.configure_threads() == cores


def test_explicit_count_then_environment(monkeypatch):
    monkeypatch.setenv("INRV_THREADS", "1")
    assert device.configure_threads() == 1
    assert torch.get_num_threads() == 1
    monkeypatch.setenv("INRV_THREADS", "2")
    assert device.configure_threads(1) == 1  # the argument wins over the environment


@pytest.mark.parametrize("value", ["two", "0", "-3"])
def test_bad_environment_value_is_a_config_error(monkeypatch, value):
    monkeypatch.setenv("INRV_THREADS", value)
    with pytest.raises(ConfigError, match="INRV_THREADS|thread count"):
        device.configure_threads()


def test_bad_counts_are_config_errors():
    with pytest.raises(ConfigError, match="--threads"):
        EncodeConfig.of(threads=0)
    with pytest.raises(ConfigError, match="thread count"):
        device.configure_threads(device.MAX_THREADS + 1)


def test_same_config_same_file(tmp_path, carphone_y4m):
    """The encoder is deterministic for a given thread count: two runs write the same bytes."""
    config = EncodeConfig.of(model="nerv", preset="xs", steps=15, count=3, device="cpu", progress=False,
                          threads=1)
    a = codec.encode(carphone_y4m, tmp_path / "a.inrv", config)
    b = codec.encode(carphone_y4m, tmp_path / "b.inrv", config)
    assert a.threads == b.threads == 1
    assert (tmp_path / "a.inrv").read_bytes() == (tmp_path / "b.inrv").read_bytes()


def test_cli_threads_option(tmp_path, carphone_y4m, capsys):
    out = tmp_path / "c.inrv"
    assert main(["encode", str(carphone_y4m), "-o", str(out), "--model", "nerv", "--preset", "xs",
                 "--steps", "3", "--frames", "0:2", "--quiet", "--device", "cpu", "--threads", "1"]) == 0
    assert "1 CPU thread)" in capsys.readouterr().out
    assert main(["decode", str(out), "-o", str(tmp_path / "d.y4m"), "--threads", "1"]) == 0
    assert main(["encode", str(carphone_y4m), "-o", str(tmp_path / "x.inrv"), "--threads", "0"]) != 0
    assert "--threads must be in 1..1024" in capsys.readouterr().err
    assert not (tmp_path / "x.inrv").exists()
