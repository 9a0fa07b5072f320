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


def configure_threads() -> int:
    """Pick the CPU thread count: ``INRV_THREADS`` if set, else the cores that are idle now.

    These networks are small, so every parallel region is short; when the cores are busy with
    other work, torch's worker threads wait at each barrier for a descheduled sibling, and two
    threads then run about ten times slower than one (measured on a loaded 2-core machine).
    So: every core on an idle machine, fewer as the load average rises, never fewer than one.
    """
    if "INRV_THREADS" in os.environ:
        threads = int(os.environ["INRV_THREADS"])
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        try:
            busy = os.getloadavg()[0]
        except OSError:  # pragma: no cover
            busy = 0.0
        threads = min(cores, max(1, int(cores - busy + 0.5)))
    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()
