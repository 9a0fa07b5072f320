"""inrv model families as evaluated methods, through the public API only.

A point is ``codec.encode(sequence file, out.inrv, EncodeConfig(model=family, quality=q,
count=frames, options={"lmbda": l, "steps": ...}))``: the family's own options (a lambda, training
steps or time) go to it only where it declares them. Rate is the ``.inrv`` file's size (header, tables, every chunk). The
timed decode is ``codec.decode`` to a ``.y4m`` (the user-facing decoder, file writing included); the
frames that are measured come from ``codec.open(path).frames()``, i.e. the decoder's RGB output, and
are compared with the same code and the same reference as the anchors' frames.

Encode seconds are the ones :func:`codec.encode` reports for writing the file (its own check decode
and measurement are not counted); the call's wall time is kept beside it as ``encode-wall-s``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from codec.config import QUALITIES, EncodeConfig
from codec.errors import ConfigError
from eval.base import DecodedChunk, Decoded, Encoded, Setting, spread
from eval.measure import PeakMemory

if TYPE_CHECKING:
    from eval.datasets import Sequence

__all__ = ["InrvMethod"]


class InrvMethod:
    """A :class:`~eval.base.Method` for one registered model family.

    ``steps`` / ``time_budget`` bound training (None: the family's defaults; a family that does not
    declare them does not get them); ``device`` is passed on (``auto`` uses CUDA when present);
    ``threads``: the CPU threads of its encodes and decodes (they decide the file; recorded in the
    result files, so that a resumed run never mixes counts; None: the codec's default);
    ``options``: more of the family's options for every point (``{"preset": "s"}``), the method then
    named ``name``; ``jobs``: each encode's jobs (:attr:`codec.config.EncodeConfig.jobs`: None, in
    this process; 0, one per core; N worker processes), ``threads`` then being the threads of each
    job and of the decodes (one when None). Jobs do not decide the file (the same bytes for any
    ``jobs`` at one thread count per job), so they are not part of :meth:`describe`: a resumed
    run may change them; each point's ``extra`` records them (``jobs``: asked, ``jobs-at-once``:
    the most frames that trained at once, ``note``: why a family ran as one job).
    """

    kind: Literal["inrv"] = "inrv"

    def __init__(
        self, family: str, *, steps: int | None = None, time_budget: float | None = None, device: str = "auto",
        options: dict | None = None, name: str | None = None, threads: int | None = None, jobs: int | None = None,
    ) -> None:
        self.name = name or family
        self.family = family
        self.steps = steps
        self.time_budget = time_budget
        self.device = device
        self.options = dict(options or {})
        self.jobs = jobs
        self.threads = 1 if threads is None and jobs is not None else threads  # EncodeConfig.job_threads

    def with_jobs(self, jobs: int | None) -> "InrvMethod":
        """This method with each encode run as ``jobs`` jobs (the same files, see :meth:`describe`)."""
        other = copy.copy(self)
        other.jobs = jobs
        return other

    def describe(self) -> dict:
        import codec

        return {
            "family": self.family,
            "steps": self.steps,
            "time-budget-s": self.time_budget,
            "device": self.device,
            **({"options": self.options} if self.options else {}),
            "rate": ".inrv file bytes (header, side information and all chunks)",
            "inrv": getattr(codec, "__version__", "unknown"),
            **({"threads": self.threads} if self.threads is not None else {}),
        }

    def description(self) -> str:
        steps = f"{self.steps} steps" if self.steps else "default steps"
        threads = f", {self.threads} CPU thread{'s' if self.threads > 1 else ''}" if self.threads else ""
        return f"inrv {self.family}, quality/lambda sweep, {steps}, device {self.device}{threads}"

    def settings(self, points: int) -> list[Setting]:
        values = spread(QUALITIES[0], QUALITIES[-1], points, integer=True)
        return [Setting("quality", v) for v in values]

    def parse_setting(self, text: str) -> Setting:
        """An integer 1..8 is a quality; anything else a lambda (``0.002``, ``1e-3``)."""
        try:
            if text.strip().isdigit():
                quality = int(text)
                if quality not in QUALITIES:
                    raise ConfigError(f"{self.name}: quality must be in {QUALITIES[0]}..{QUALITIES[-1]}, "
                                      f"got {quality}")
                return Setting("quality", float(quality))
            lmbda = float(text)
        except ValueError:
            raise ConfigError(f"{self.name}: expected a quality 1..8 or a lambda, got {text!r}") from None
        if not 0 < lmbda < 1e6:
            raise ConfigError(f"{self.name}: lambda must be positive, got {text!r}")
        return Setting("lmbda", lmbda)

    def _config(self, seq: "Sequence", setting: Setting) -> EncodeConfig:
        from codec.registry import get_family

        declared = {s.name for s in get_family(self.family).options_cls.specs()}
        options = {k: v for k, v in (("steps", self.steps), ("time_budget", self.time_budget)) if k in declared}
        options |= self.options
        quality = int(setting.value) if setting.knob == "quality" else None
        if setting.knob == "lmbda":
            options["lmbda"] = float(setting.value)  # an error for a family without a lambda
        return EncodeConfig(model=self.family, quality=quality, count=seq.num_frames, device=self.device,
                            threads=self.threads, jobs=self.jobs, progress=False, options=options)

    def encode(self, seq: "Sequence", setting: Setting, workdir: Path) -> Encoded:
        import codec

        out = workdir / f"{self.name}_{setting.key.replace('=', '')}.inrv"
        config = self._config(seq, setting)
        start = time.perf_counter()
        with PeakMemory() as memory:
            result = codec.encode(seq.path, out, config)
        wall = time.perf_counter() - start
        extra = {
            "encode-wall-s": wall,
            "steps": result.steps,
            "lambda": result.lmbda,
            "estimated-bpp": result.estimated_bpp,
        }
        if memory.gpu_peak_mb is not None:
            extra["encode-gpu-peak-mb"] = memory.gpu_peak_mb
        if self.jobs is not None:
            extra |= {"jobs": self.jobs, "jobs-at-once": result.jobs}
            if result.note:
                extra["note"] = result.note
        return Encoded(out, out.stat().st_size, result.encode_seconds, memory.peak_mb, extra)

    def decode(self, encoded: Encoded, seq: "Sequence", workdir: Path) -> Decoded:
        import codec

        out = workdir / f"{encoded.path.stem}_decoded.y4m"
        try:
            with PeakMemory() as memory:
                result = codec.decode(encoded.path, out, device=self.device, threads=self.threads)
        finally:
            out.unlink(missing_ok=True)
        return Decoded(seconds=result.seconds, num_frames=result.num_frames, peak_mb=memory.peak_mb)

    def frames(self, encoded: Encoded, seq: "Sequence", chunk: int) -> Iterator[DecodedChunk]:
        import codec

        coded = codec.open(encoded.path, device=self.device)
        try:
            block: list[np.ndarray] = []
            for frame in coded.frames(0, coded.info.num_frames):
                block.append(frame)
                if len(block) == chunk:
                    yield np.stack(block)
                    block = []
            if block:
                yield np.stack(block)
        finally:
            coded.close()
