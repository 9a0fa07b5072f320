"""Memory on the decode side: the limit a stream's needs are checked against (``--max-memory``),
sizes as users write them, and telling an allocation failure from other errors.

A header of a few bytes may claim a frame of 16384 x 16384 pixels; each family states what
decoding a stream needs from its config and geometry (:meth:`codec.family.Family.decode_memory`),
and :func:`codec.api.decode` / :meth:`codec.api.CodedVideo.decoder` refuse a stream over the limit
before anything is allocated, in the manner of the pixel limit (``--max-pixels``). No torch here.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

#: What ``max_memory="auto"`` (the default of ``inrv decode`` and ``codec.decode``) allows: this
#: share of the machine's memory (:func:`machine_memory`), less where a limit on the process
#: (``ulimit -v``, ``ulimit -d``) leaves less.
MACHINE_SHARE = 0.5
#: ``--max-memory`` units (powers of 1024, as ``free -h`` and ``ulimit`` count).
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
#: Messages of allocation failures that torch raises as a plain ``RuntimeError`` (CPU allocator,
#: CUDA, MPS, a C++ ``std::bad_alloc``).
OOM_MARKERS = ("alloc_cpu.cpp", "DefaultCPUAllocator: can't allocate memory", "CPUAllocator.cpp",
               "CUDA out of memory", "CUDA error: out of memory", "MPS backend out of memory",
               "std::bad_alloc", "CUBLAS_STATUS_ALLOC_FAILED")


def _cgroup_limit() -> int | None:
    """The memory limit of this process's control group (v2 or v1), None where there is none."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def machine_memory() -> int:
    """Bytes of memory this process's machine has: physical memory (``os.sysconf``, else
    ``/proc/meminfo``), or its control group's limit where that is lower."""
    total = 0
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * 1024
        except OSError:
            pass
    total = total or 8 * 2**30  # unknown: assume a small machine
    limit = _cgroup_limit()
    return min(total, limit) if limit else total


def _status_bytes(field: str) -> int:
    """A ``/proc/self/status`` figure in bytes (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rlimits_left() -> int | None:
    """Bytes this process may still map under ``RLIMIT_AS`` (less its ``VmSize``) and
    ``RLIMIT_DATA`` (less its ``VmData``), the smaller; None where neither is set."""
    left = []
    for limit, used in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft, _ = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY:
            left.append(max(0, soft - _status_bytes(used)))
    return min(left) if left else None


def default_max_memory() -> int:
    """The default decode memory limit: :data:`MACHINE_SHARE` of :func:`machine_memory`, or what
    the process may still map under ``ulimit -v`` / ``ulimit -d`` where that is less."""
    limit = int(MACHINE_SHARE * machine_memory())
    left = _rlimits_left()
    return limit if left is None else min(limit, left)


def memory_limit(max_memory: int | str | None) -> int | None:
    """Bytes a decode may ask for: ``"auto"`` -> :func:`default_max_memory`; None or 0 -> no limit
    (None); a positive int -> itself."""
    if max_memory == "auto":
        return default_max_memory()
    if not max_memory:
        return None
    if not isinstance(max_memory, int) or max_memory < 0:
        raise ValueError(f"max_memory must be 'auto', None or a byte count >= 0, got {max_memory!r}")
    return max_memory


def parse_size(text: str) -> int | str:
    """``--max-memory``'s value: ``auto``, ``0`` (no limit), bytes, or a number with K, M, G or T
    (powers of 1024, an optional ``B`` or ``iB`` after it): ``1.5G``, ``512MiB``. ValueError otherwise."""
    text = text.strip()
    if text.lower() == "auto":
        return "auto"
    body = text.upper().removesuffix("IB").removesuffix("B")
    unit = body[-1:] if body[-1:] in UNITS else ""
    number = body[: len(body) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"expected a size such as 2G, 512M or 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"a size must be a number >= 0, got {text!r}")
    return int(value * UNITS[unit])


def format_bytes(n: float) -> str:
    """``n`` bytes for a message: ``3.1 GB``, ``640 MB``, ``12 kB`` (decimal units, 3 digits)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure: ``MemoryError`` (numpy's ``_ArrayMemoryError``
    included), torch's ``OutOfMemoryError`` (CUDA), or a ``RuntimeError`` with an allocator's
    message (``[enforce fail at alloc_cpu.cpp:...]``, ``DefaultCPUAllocator: can't allocate
    memory``, ``CUDA out of memory``, ``std::bad_alloc``)."""
    if isinstance(exc, MemoryError):
        return True
    if any(cls.__name__ == "OutOfMemoryError" for cls in type(exc).__mro__):
        return True
    return isinstance(exc, RuntimeError) and any(marker in str(exc) for marker in OOM_MARKERS)
