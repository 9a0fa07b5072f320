"""The ``motion`` family's own measurements (``scripts/bench_motion.py``, docs/motion.md): what a
training step costs against the machine's matrix-multiply rate, what decoding costs and how fast it
runs, whether decoding is the same on every run and between thread counts. Nothing is asserted: it
prints.

* **Steps.** One training step (forward, backward, Adam) of each frame type at a frame size, the
  first frame of a type (networks training) and a later one (latents only), timed over a number of
  steps after a warm-up; its floating-point operations counted by torch's
  :class:`torch.utils.flop_counter.FlopCounterMode` (matrix products and convolutions: what the
  machine's matmul rate measures); and that rate, a 1024x1024 float32 matrix product, on the same
  threads in the same run. The fraction of the rate a step reaches says how much of it goes to
  overhead (small operations, indexing, the optimizer) rather than arithmetic.
* **Decoding.** A stream decoded twice (frames identical?), its frames per second, the decoder's
  multiply-adds per pixel, and the largest sample difference per frame between decodes with 1 and
  2 threads (float sums may differ; along the chain of references a difference may grow).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

import codec
from codec.config import EncodeConfig
from codec.family import Geometry
from codec.registry import get_family


def matmul_rate(seconds: float = 1.0, size: int = 1024) -> float:
    """GFLOP/s of a ``size x size`` float32 matrix product on the current threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - start) / 1e9


@dataclass(frozen=True)
class StepFigures:
    letter: str
    networks: bool
    width: int
    height: int
    ms: float
    gflop: float
    rate: float

    @property
    def fraction(self) -> float:
        """Share of the matmul rate the step's counted operations reach."""
        return self.gflop / (self.ms / 1000) / self.rate


def step_figures(letter: str, networks: bool, width: int, height: int, rate: float, steps: int = 20,
                 options: dict | None = None) -> StepFigures:
    """One frame type's training step at ``width x height`` (random frames: the cost does not
    depend on the content), timed over ``steps`` after five, and its counted operations."""
    from torch.utils.flop_counter import FlopCounterMode

    from codec.families.motion.encode import PartTrainable, _FrameTrainee
    from codec.families.motion.net import PARTS, from_uint8, part_shape
    from codec.tools.phases import Phase, Quantizer
    from codec.tools.runner import StepAt

    family = get_family("motion")
    config = family.make_config(EncodeConfig.of(model="motion", **(options or {})),
                                Geometry(width, height, 33, Fraction(30)))
    device = torch.device("cpu")
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    parts = {role: PartTrainable(part_shape(config, role), config, height, width) for role in PARTS[letter]}
    for part in parts.values():
        part.start(device, None)
        if not networks:
            part.freeze_networks()
    frame = lambda: from_uint8(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), device)  # noqa: E731
    refs = [frame() for _ in range({"I": 0, "P": 1, "B": 2}[letter])]
    trainee = _FrameTrainee(parts, refs, frame(), 4e-3, config, networks)
    opt = torch.optim.Adam([p for group in trainee.parameter_groups().values() for p in group], lr=1e-3)
    at = StepAt(0, 0.5, Phase("soft", Quantizer("soft", temperature=(0.3, 0.1))), 0.2)

    def step() -> None:
        loss = trainee.step(at)
        opt.zero_grad(set_to_none=True)
        loss.loss.backward()
        opt.step()
        trainee.after_step()

    for _ in range(5):
        step()
    with FlopCounterMode(display=False) as counter:
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - start) / steps * 1000
    return StepFigures(letter, networks, width, height, ms, counter.get_total_flops() / 1e9, rate)


@dataclass(frozen=True)
class DecodeFigures:
    path: str
    frames: int
    width: int
    height: int
    fps: float
    identical: bool
    macs: dict
    thread_diff: tuple[tuple[int, str, int], ...]  # (display, type, largest |difference|)


def decode_figures(path: Path) -> DecodeFigures:
    """Decode ``path`` twice on one thread (identical? frames per second of the second), once on
    two threads (the largest sample difference per frame against one thread)."""
    from codec.families.motion.net import decoder_macs

    def decode(threads: int) -> tuple[np.ndarray, float]:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        with codec.open(path, device="cpu") as video:
            frames = np.stack(list(video.frames()))
        return frames, time.perf_counter() - start

    first, _ = decode(1)
    second, seconds = decode(1)
    two, _ = decode(2)
    torch.set_num_threads(1)
    with codec.open(path, device="cpu") as video:
        info, config, structure = video.info, video.config, video.structure()
    diff = tuple((f.display, f.letter, int(np.abs(first[f.display].astype(np.int16)
                                                   - two[f.display].astype(np.int16)).max()))
                 for f in structure.display_order())
    return DecodeFigures(str(path), info.num_frames, info.width, info.height, len(second) / seconds,
                         bool(np.array_equal(first, second)), decoder_macs(config, info.height, info.width), diff)


def step_table(rows: list[StepFigures]) -> str:
    lines = [f"{'type':<5} {'networks':<9} {'size':>9} {'ms/step':>8} {'GFLOP':>7} {'GFLOP/s':>8} "
             f"{'matmul':>7} {'share':>6}"]
    for r in rows:
        lines.append(f"{r.letter:<5} {'trained' if r.networks else 'reused':<9} {f'{r.width}x{r.height}':>9} "
                     f"{r.ms:>8.1f} {r.gflop:>7.3f} {r.gflop / (r.ms / 1000):>8.2f} {r.rate:>7.1f} "
                     f"{100 * r.fraction:>5.1f}%")
    return "\n".join(lines)


def decode_table(d: DecodeFigures) -> str:
    worst = max((x for _, _, x in d.thread_diff), default=0)
    lines = [f"{Path(d.path).name}: {d.frames} frames of {d.width}x{d.height}; decoded twice on one thread: "
             f"{'identical' if d.identical else 'DIFFERENT'}; {d.fps:.2f} fps (one thread)",
             "multiply-adds per pixel: " + ", ".join(f"{k} frames {v:.0f}" for k, v in d.macs.items()),
             f"largest sample difference, 2 threads against 1: {worst} (per frame in display order: "
             + " ".join(f"{disp}{t}:{x}" for disp, t, x in d.thread_diff) + ")"]
    return "\n".join(lines)
