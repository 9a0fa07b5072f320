"""The README's measured demo figures, generated and checked.

``scripts/demo_figures.py`` runs the demo (:mod:`codec.demo`) once per thread count, keeps the
figures in ``docs/data/demo.json`` (:func:`measure_demo`, :func:`save`) and writes the README's
sentence between the markers :data:`BEGIN` and :data:`END` (:func:`update_readme`).
``tests/test_readme.py`` checks that the README holds exactly :func:`sentence` of the file, that the
file was made with :mod:`codec.demo`'s settings, and (slow) that the demo still makes those figures.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["BEGIN", "END", "DemoRun", "DemoRecord", "demo_settings", "measure_demo", "save", "load", "sentence",
           "readme_block", "update_readme", "DEMO_JSON"]

BEGIN, END = "<!-- demo-figures: scripts/demo_figures.py -->", "<!-- /demo-figures -->"
#: Where the figures are kept (relative to the repository root).
DEMO_JSON = Path("docs/data/demo.json")


@dataclass(frozen=True)
class DemoRun:
    """One ``inrv demo --threads N``: the file's bytes and bpp, PSNR-RGB decoded from it, encode
    seconds, and the two speeds of its lossless decode (README, "Speed figures")."""

    threads: int
    file_bytes: int
    bpp: float
    psnr_rgb: float
    encode_seconds: float
    decode_fps: float
    render_fps: float


@dataclass(frozen=True)
class DemoRecord:
    """The demo's settings, the machine, a run per thread count, and the share of decoded samples
    that change when the one-thread file is rendered with two threads instead of one."""

    settings: dict
    machine: str
    runs: tuple[DemoRun, ...]
    render_samples_changed: float | None = None

    def run(self, threads: int) -> DemoRun | None:
        return next((r for r in self.runs if r.threads == threads), None)


def demo_settings() -> dict:
    """What decides the demo's file besides the CPU and the thread count."""
    from codec.demo import DEMO_CLIP, DEMO_FRAMES, DEMO_MODEL, DEMO_STEPS

    return {"clip": DEMO_CLIP, "frames": DEMO_FRAMES, "model": DEMO_MODEL, "steps": DEMO_STEPS}


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " " + line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {platform.machine()}{model}"


def _changed_samples(stream: Path, threads: tuple[int, int]) -> float:
    """Share of the samples of ``stream``'s frames that differ between rendering with each count."""
    import numpy as np

    import codec
    from codec.device import configure_threads

    renders = []
    for count in threads:
        configure_threads(count)
        with codec.open(stream, device="cpu") as video:
            renders.append(np.stack(list(video.frames())))
    return float(np.mean(renders[0] != renders[1]))


def measure_demo(threads: tuple[int, ...] = (1, 2), progress: bool = True) -> DemoRecord:
    """Run the demo once per thread count (on the CPU, in a temporary folder)."""
    from codec.demo import decode_demo, encode_demo

    runs = []
    changed = None
    with tempfile.TemporaryDirectory(prefix="inrv-demo-") as tmp:
        for count in threads:
            out = Path(tmp) / f"threads{count}"
            result = encode_demo(out, device="cpu", threads=count, progress=progress)
            decoded = decode_demo(result.path, device="cpu", threads=count)
            runs.append(DemoRun(count, result.file_bytes, round(result.bpp, 6), round(result.psnr_rgb, 4),
                                round(result.encode_seconds, 1), round(decoded.lossless.fps, 1),
                                round(decoded.lossless.render_fps, 1)))
            if count == threads[0] and len(threads) > 1:
                changed = _changed_samples(result.path, (threads[0], threads[1]))
    return DemoRecord(demo_settings(), _machine(), tuple(runs), changed)


def save(record: DemoRecord, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=1) + "\n")
    return path


def load(path: Path) -> DemoRecord:
    data = json.loads(Path(path).read_text())
    return DemoRecord(data["settings"], data["machine"], tuple(DemoRun(**r) for r in data["runs"]),
                      data.get("render_samples_changed"))


def sentence(record: DemoRecord) -> str:
    """The README's words for ``record`` (one thread first; two threads when measured)."""
    one = record.run(1) or record.runs[0]
    words = (f"measured with {one.threads} thread{'s' if one.threads > 1 else ''} on a {record.machine}: "
             f"encode {one.encode_seconds:.0f} s, {one.bpp:.4f} bpp ({one.file_bytes:,} bytes), "
             f"{one.psnr_rgb:.2f} dB PSNR-RGB, decode to FFV1 {one.decode_fps:.0f} fps, render "
             f"{one.render_fps:.0f} fps")
    others = [r for r in record.runs if r is not one]
    for run in others:
        words += (f"; with {run.threads} threads {run.bpp:.4f} bpp, {run.psnr_rgb:.2f} dB, encode "
                  f"{run.encode_seconds:.0f} s")
    return words


def readme_block(record: DemoRecord) -> str:
    """The marked block the README holds (markers included)."""
    return f"{BEGIN}{sentence(record)}{END}"


def update_readme(readme: Path, record: DemoRecord) -> bool:
    """Put :func:`readme_block` between the README's markers; True when the text changed."""
    text = readme.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme}: no {BEGIN} ... {END} block")
    new = text[:start] + readme_block(record) + text[end + len(END):]
    if new != text:
        readme.write_text(new)
    return new != text
