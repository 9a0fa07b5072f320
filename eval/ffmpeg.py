"""Timed ffmpeg runs for the harness: wall seconds and the child's own peak memory.

Pipes that only move frames use :class:`codec.video.ffmpeg.FfmpegProcess`; what this module adds is
:func:`run`, which follows the peak resident memory of *that* ffmpeg process while it runs (see
:class:`_PeakSampler`), plus the binary's version for result files.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from codec.errors import VideoError
from codec.video.ffmpeg import ffmpeg_exe, fps_arg, last_error_line

__all__ = ["ProcRun", "version", "run", "raw_input_args"]


@dataclass(frozen=True)
class ProcRun:
    """One finished ffmpeg process: wall seconds, the process's own peak RSS (MiB) and its stderr."""

    seconds: float
    peak_mb: float
    stderr: str


@functools.lru_cache(maxsize=1)
def version() -> str:
    """ffmpeg's version string, e.g. ``n9.0.2-17-g2a571b6068-20260930``."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, check=False)
    first = (out.stdout.splitlines() or ["ffmpeg version unknown"])[0].split()
    return first[2] if len(first) > 2 else "unknown"


def raw_input_args(width: int, height: int, fps: Fraction) -> list[str]:
    """Input options that make ffmpeg read headerless 8-bit yuv420p frames of this geometry."""
    return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", fps_arg(Fraction(fps))]


class _PeakSampler(threading.Thread):
    """Reads ``VmHWM`` (the high-water mark of resident memory) of a running process every 10 ms.

    ``ru_maxrss`` cannot be used for a child of this process: Linux carries the parent's high-water
    mark into the child across ``exec``, so after torch is loaded every ffmpeg would "use" what
    Python uses. ``VmHWM`` belongs to the child's own address space; the last value read before the
    process exits is its peak (within the last 10 ms of its life).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.peak_kib = 0
        self._stop_event = threading.Event()

    def _read(self) -> None:
        try:
            with open(self.path) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                        return
        except (OSError, ValueError):
            pass

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._read()
            self._stop_event.wait(0.01)

    def stop(self) -> float:
        """Stop sampling; the peak in MiB (NaN if never read, e.g. without ``/proc``)."""
        self._stop_event.set()
        self.join()
        return self.peak_kib / 1024.0 if self.peak_kib else float("nan")


def run(args: list[str], *, what: str, feed: Iterable[bytes] | None = None) -> ProcRun:
    """Run ``ffmpeg -hide_banner -loglevel error -y <args>``, writing the ``feed`` chunks to its stdin.

    The time counts from start to exit (consuming ``feed`` included). A failure raises
    :class:`VideoError` ``"<what>: <ffmpeg's last line>"``; an exception in ``feed`` kills ffmpeg.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    cmd += (["-nostdin"] if feed is None else []) + list(args)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
            )
        except OSError as exc:
            raise VideoError(f"{what}: cannot start ffmpeg ({exc})") from exc
        sampler = _PeakSampler(proc.pid)
        sampler.start()
        broken = False
        try:
            if feed is not None and proc.stdin is not None:
                try:
                    for chunk in feed:
                        proc.stdin.write(chunk)
                    proc.stdin.close()
                except BrokenPipeError:
                    broken = True
        except BaseException:
            proc.kill()
            proc.wait()
            sampler.stop()
            raise
        proc.wait()
        peak = sampler.stop()
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0 or broken:
        raise VideoError(f"{what}: {last_error_line(stderr)} (ffmpeg exit {proc.returncode})")
    return ProcRun(seconds=seconds, peak_mb=peak, stderr=stderr)
