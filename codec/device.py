"""Device choice and the speed settings that go with it (CUDA: bf16 autocast, channels_last)."""

from __future__ import annotations

import contextlib
import os

import torch

from codec.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; anything else must be a usable device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available here")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not supported (use auto, cpu, cuda or cuda:N)")
    return device


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; a no-op elsewhere (CPU bf16 is slower than fp32 for these nets)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


#: Most threads a configured count may ask for (a guard against typos such as ``--threads 4000``).
MAX_THREADS = 1024


def default_threads() -> int:
    """Every core this process may run on. Fixed for a machine, so that the same command gives the
    same file: the thread count changes the order of floating-point sums in training, and with it
    the trained network (the demo's figures with one thread and with two: docs/data/demo.json,
    written by scripts/demo_figures.py)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def configure_threads(threads: int | None = None) -> int:
    """Set torch's CPU thread count: ``threads`` if given, else ``INRV_THREADS`` if set, else
    :func:`default_threads`. Returns the count in use."""
    if threads is None and os.environ.get("INRV_THREADS"):
        text = os.environ["INRV_THREADS"]
        try:
            threads = int(text)
        except ValueError:
            raise ConfigError(f"INRV_THREADS must be a whole number, got {text!r}") from None
    if threads is None:
        threads = default_threads()
    if not 1 <= threads <= MAX_THREADS:
        raise ConfigError(f"thread count must be in 1..{MAX_THREADS}, got {threads}")
    torch.set_num_threads(threads)
    return torch.get_num_threads()
