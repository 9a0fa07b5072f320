"""Running the ffmpeg binary of imageio-ffmpeg: one managed subprocess, probing and frame counting.

Every ffmpeg run goes through :class:`FfmpegProcess`, which

* starts ``ffmpeg -nostdin -hide_banner`` (``-loglevel error`` unless probing),
* sends stderr to a temporary file (so that a chatty ffmpeg can never block on a full pipe) and turns
  a failure into a one-line :class:`~codec.errors.VideoError` quoting ffmpeg's last meaningful line,
* reads and writes its pipes with an inactivity timeout (``poll``), so that a stalled ffmpeg
  raises instead of hanging,
* is always killed and reaped on close (no zombie processes).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from codec.errors import VideoError

__all__ = ["ffmpeg_exe", "file_arg", "FfmpegProcess", "ProbeResult", "probe", "count_frames", "fps_arg", "IO_TIMEOUT_S"]

IO_TIMEOUT_S = 120.0
"""Seconds without any data moving through a pipe after which ffmpeg is considered stalled."""

_GENERIC_LINES = ("at least one output file must be specified", "conversion failed", "exiting normally")


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg shipped by imageio-ffmpeg; :class:`VideoError` with a hint if absent."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # ImportError, or RuntimeError when the binary is missing
        raise VideoError(f"ffmpeg is not available ({exc}); install it with: pip install imageio-ffmpeg") from exc


def fps_arg(fps: Fraction) -> str:
    """A frame rate as ffmpeg's ``num/den`` argument."""
    return f"{fps.numerator}/{fps.denominator}"


def file_arg(path: Path) -> str:
    """A local path as ffmpeg's ``file:`` URL, so that names with ``:`` are never taken for protocols."""
    return "file:" + str(Path(path).absolute())


def last_error_line(stderr: str) -> str:
    """One line saying why ffmpeg failed: its final reason, with the last specific detail before it.

    E.g. ``Invalid data found when processing input (moov atom not found)``. ``[ctx @ 0x..]`` prefixes
    and ffmpeg's generic wrap-up lines are dropped.
    """
    lines = [re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", ln).strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln and not ln.lower().startswith(_GENERIC_LINES)]
    if not lines:
        return "ffmpeg failed without a message"
    final = re.sub(r"^Error opening (input|output) files?: ", "", lines[-1])
    details = [ln for ln in lines[:-1] if not ln.startswith("Error ")]
    if details and details[-1] not in final:
        return f"{final} ({details[-1]})"
    return final


class FfmpegProcess:
    """One ffmpeg subprocess with optional stdin/stdout pipes, timeouts and guaranteed cleanup.

    Use as a context manager, or call :meth:`close` (kills if still running) / :meth:`finish`
    (waits for a clean exit and raises :class:`VideoError` on a non-zero status).
    """

    def __init__(self, args: Sequence[str], *, what: str, stdin: bool = False, loglevel: str = "error") -> None:
        self.what = what
        self._stderr = tempfile.TemporaryFile()
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", loglevel, *args]
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=0,
            )
        except OSError as exc:
            self._stderr.close()
            raise VideoError(f"{what}: cannot start ffmpeg ({exc})") from exc
        if stdin:
            assert self._proc.stdin is not None
            os.set_blocking(self._proc.stdin.fileno(), False)

    def __enter__(self) -> "FfmpegProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stderr_text(self) -> str:
        """Everything ffmpeg wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def error(self, context: str = "") -> VideoError:
        """A :class:`VideoError` for this run, quoting ffmpeg's last meaningful stderr line."""
        prefix = f"{self.what}: {context}: " if context else f"{self.what}: "
        return VideoError(prefix + last_error_line(self.stderr_text()))

    def _wait_ready(self, fd: int, *, write: bool) -> None:
        """Block until ``fd`` can be read/written, or kill ffmpeg and raise after :data:`IO_TIMEOUT_S`."""
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        if not poller.poll(IO_TIMEOUT_S * 1000):
            self.close()
            raise VideoError(f"{self.what}: ffmpeg stalled for {IO_TIMEOUT_S:.0f} s")

    def read_into(self, buf: np.ndarray) -> int:
        """Fill the contiguous uint8 ``buf`` from stdout; returns the bytes read (fewer only at EOF)."""
        assert self._proc.stdout is not None
        view = memoryview(buf).cast("B")
        fd, pos = self._proc.stdout.fileno(), 0
        while pos < len(view):
            self._wait_ready(fd, write=False)
            got = self._proc.stdout.readinto(view[pos:])
            if not got:
                break
            pos += got
        return pos

    def read_all(self) -> bytes:
        """Read stdout to EOF (for small outputs such as ``-progress``)."""
        assert self._proc.stdout is not None
        chunks, fd = [], self._proc.stdout.fileno()
        while True:
            self._wait_ready(fd, write=False)
            data = os.read(fd, 1 << 16)
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    def write(self, data: bytes | memoryview | np.ndarray) -> None:
        """Write everything in ``data`` to ffmpeg's stdin; :class:`VideoError` if ffmpeg has gone away."""
        assert self._proc.stdin is not None
        view = memoryview(np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data).cast("B")
        fd, pos = self._proc.stdin.fileno(), 0
        while pos < len(view):
            self._wait_ready(fd, write=True)
            try:
                pos += os.write(fd, view[pos : pos + (1 << 20)])
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as exc:
                self.wait()
                err = self.error("ffmpeg stopped reading")
                self.close()
                raise err from exc

    def wait(self, timeout: float = IO_TIMEOUT_S) -> int:
        """Wait for ffmpeg to exit and return its status; kills it and raises after ``timeout``."""
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise VideoError(f"{self.what}: ffmpeg did not finish within {timeout:.0f} s") from None

    def finish(self, timeout: float = IO_TIMEOUT_S) -> None:
        """Close stdin, wait for ffmpeg to exit; :class:`VideoError` on failure or timeout. Always cleans up."""
        try:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                try:
                    self._proc.stdin.close()
                except BrokenPipeError:
                    pass
            if self.wait(timeout) != 0:
                raise self.error()
        finally:
            self.close()

    def close(self) -> None:
        """Kill ffmpeg if it still runs, reap it and close every pipe and file. Idempotent."""
        proc = self._proc
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass
        if not self._stderr.closed:
            self._stderr.close()


@dataclass(frozen=True)
class ProbeResult:
    """First video stream of a file as ffmpeg describes it."""

    width: int
    height: int
    fps: Fraction
    pix_fmt: str
    codec: str


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses/brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def _parse_rate(text: str) -> Fraction:
    """``29.97`` -> 30000/1001, ``25`` -> 25, ``1k`` -> 1000 (ffmpeg prints rates rounded)."""
    value = Fraction(text[:-1]) * 1000 if text.endswith("k") else Fraction(text)
    ntsc = round(value * Fraction(1001, 1000))
    if value.denominator != 1 and abs(value - Fraction(ntsc * 1000, 1001)) < Fraction(1, 100):
        return Fraction(ntsc * 1000, 1001)
    return value


def _rate_field(fields: list[str]) -> Fraction:
    """The stream's frame rate from its ``R fps`` field, else ``R tbr``; 0 if neither is printed."""
    for unit in ("fps", "tbr"):
        for field in fields:
            m = re.match(r"([\d.]+k?) " + unit + r"\b", field)
            if m:
                return _parse_rate(m.group(1))
    return Fraction(0)


def parse_stream_line(line: str) -> ProbeResult | None:
    """Parse ffmpeg's ``Stream #0:0...: Video: codec, pix_fmt(...), WxH ..., R fps, ...`` line."""
    m = re.search(r"Video: (.*)$", line)
    if not m:
        return None
    fields = _split_top_level(m.group(1))
    size = next((s for s in (re.match(r"(\d+)x(\d+)", f) for f in fields[1:]) if s), None)
    if size is None:
        return None
    pix_fmt = re.split(r"[(\s]", fields[1], maxsplit=1)[0]
    return ProbeResult(int(size.group(1)), int(size.group(2)), _rate_field(fields), pix_fmt, fields[0].split()[0])


def probe(path: Path) -> ProbeResult:
    """Describe the first video stream of ``path`` (ffmpeg's ``-i`` dump, no ffprobe needed)."""
    with FfmpegProcess(["-i", file_arg(path)], what=f"cannot read {path}", loglevel="info") as proc:
        proc.read_all()
        proc.wait()
        text = proc.stderr_text()
        for line in text.splitlines():
            if line.lstrip().startswith("Stream #") and (found := parse_stream_line(line)):
                return found
        if re.search(r"Input #\d", text):
            raise VideoError(f"cannot read {path}: no video stream")
        raise proc.error()


def count_frames(path: Path) -> int:
    """Exact number of frames ffmpeg decodes from the first video stream (decodes the whole stream)."""
    args = ["-i", file_arg(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "null", "-progress", "pipe:1", "-nostats", "-"]
    with FfmpegProcess(args, what=f"cannot count frames of {path}") as proc:
        out = proc.read_all().decode("ascii", "replace")
        proc.finish()
    counts = re.findall(r"^frame=(\d+)", out, flags=re.M)
    if not counts:
        raise VideoError(f"cannot count frames of {path}: ffmpeg reported no progress")
    return int(counts[-1])
