"""The ``grid`` family's own measurements (``scripts/bench_grid.py``, docs/grid.md): the decoder's cost
in multiply-adds per pixel (counted from the network shapes), training steps per second against
hnerv on the same clip and thread count, and the context schemes against each other (bits and
decoding speed of written files). Every rate is a file's size, every PSNR measured on frames
decoded from it; nothing is asserted: it prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import codec
from codec.config import EncodeConfig
from codec.family import Geometry
from codec.registry import get_family
from eval.rd_bench import ClipSpec, prepare_clips


@dataclass(frozen=True)
class Cost:
    clip: str
    width: int
    height: int
    total: float
    synthesis: float
    upsampling: float
    context: float
    latents_per_pixel: float


def decoder_cost(clip: str, geometry: Geometry, options: dict) -> Cost:
    """Multiply-adds per decoded pixel of ``grid``'s default config for this geometry."""
    from codec.families.grid.net import decoder_macs

    family = get_family("grid")
    config = family.make_config(EncodeConfig.of(model="grid", **options), geometry)
    macs = decoder_macs(config, min(config.gop, geometry.num_frames), geometry.height, geometry.width)
    return Cost(clip, geometry.width, geometry.height, macs["total"], macs["synthesis"], macs["upsampling"],
                macs["context"], macs["latents_per_pixel"])


@dataclass(frozen=True)
class StepRate:
    clip: str
    family: str
    steps: int
    seconds_per_step: float
    pixels_per_step: float

    @property
    def pixel_steps_per_second(self) -> float:
        return self.pixels_per_step / self.seconds_per_step


def step_rate(clip: str, path: Path, family: str, frames: int, options: dict, short: int, long: int,
              workdir: Path) -> StepRate:
    """Seconds per training step of ``family`` on ``frames`` frames of ``path``: two encodes of
    ``short`` and ``long`` steps (one thread), the difference of their encode times over the
    difference of their steps, so that reading, writing and measuring cancel. ``grid`` trains one
    group (its steps see :func:`codec.families.grid.encode.crop_size`'s window of it); the others
    the whole clip."""
    times = []
    for steps in (short, long):
        config = EncodeConfig.of(model=family, count=frames, threads=1, steps=steps, progress=False, **options)
        start = time.perf_counter()
        result = codec.encode(path, workdir / f"{family}-{steps}.inrv", config)
        times.append(time.perf_counter() - start)
    per_step = max(1e-9, (times[1] - times[0]) / (long - short))
    if family == "grid":
        from codec.families.grid.config import DEFAULT_GOP
        from codec.families.grid.encode import crop_size

        cf, ch, cw = crop_size(result.height, result.width, min(frames, DEFAULT_GOP))
        pixels = cf * ch * cw
    else:
        pixels = get_family(family).batch * result.width * result.height
    return StepRate(clip, family, long, per_step, float(pixels))


@dataclass(frozen=True)
class SchemePoint:
    clip: str
    scheme: str
    bytes: int
    bpp: float
    psnr: float
    latent_bytes: int
    decode_fps: float


def scheme_point(clip: str, path: Path, scheme: str, frames: int, lmbda: float, steps: int,
                 workdir: Path) -> SchemePoint:
    """One encode with the context ``scheme`` and its written file decoded (one thread)."""
    dst = workdir / f"{clip}-{scheme}.inrv"
    config = EncodeConfig.of(model="grid", count=frames, threads=1, steps=steps, lmbda=lmbda, context=scheme,
                             progress=False)
    result = codec.encode(path, dst, config)
    video = codec.open(dst, device="cpu")
    start = time.perf_counter()
    decoded = sum(1 for _ in video.frames())
    fps = decoded / (time.perf_counter() - start)
    from bitstream import StreamReader
    from codec.families.grid.decode import GridDecoder

    with StreamReader(dst) as stream:
        decoder = GridDecoder(video.config, video.geometry, stream, video.device)
        latent = sum(sum(decoder.record(g).parts[3:]) for g in range(len(decoder.plan)))
    return SchemePoint(clip, scheme, result.file_bytes, result.bpp, result.psnr_rgb, latent, fps)


def sources(clips: list[ClipSpec], workdir: Path) -> list[tuple[ClipSpec, Path, Geometry]]:
    """Each clip's prepared lossless file and its geometry."""
    out = []
    for spec, seq in zip(clips, prepare_clips(clips, workdir / "cache"), strict=True):
        out.append((spec, seq.path, Geometry(seq.width, seq.height, seq.num_frames, float(seq.fps))))
    return out


def save(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for row in rows:
            f.write(json.dumps({"kind": type(row).__name__, **asdict(row)}) + "\n")


_KINDS = {cls.__name__: cls for cls in (Cost, StepRate, SchemePoint)}


def load(path: Path) -> list:
    """The rows :func:`save` appended to ``path`` (none when it does not exist)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(_KINDS[data.pop("kind")](**data))
    return rows


def cost_table(rows: list) -> str:
    head = f"{'clip':<20} {'size':>9} {'total':>7} {'synth':>6} {'upsamp':>6} {'context':>7} {'latents/px':>10}"
    return "\n".join([head] + [
        f"{c.clip:<20} {c.width:>4}x{c.height:<4} {c.total:>7.0f} {c.synthesis:>6.0f} {c.upsampling:>6.0f} "
        f"{c.context:>7.0f} {c.latents_per_pixel:>10.3f}" for c in rows if isinstance(c, Cost)])


def speed_table(rows: list) -> str:
    head = f"{'clip':<12} {'family':<7} {'s/step':>8} {'steps/s':>8} {'pixels/step':>12} {'Mpixel-steps/s':>15}"
    return "\n".join([head] + [
        f"{r.clip:<12} {r.family:<7} {r.seconds_per_step:>8.3f} {1 / r.seconds_per_step:>8.2f} "
        f"{r.pixels_per_step:>12.0f} {r.pixel_steps_per_second / 1e6:>15.3f}" for r in rows if isinstance(r, StepRate)])


def scheme_table(rows: list) -> str:
    head = f"{'clip':<12} {'scheme':<13} {'bytes':>8} {'bpp':>8} {'PSNR':>7} {'latent bytes':>13} {'decode fps':>11}"
    return "\n".join([head] + [
        f"{p.clip:<12} {p.scheme:<13} {p.bytes:>8} {p.bpp:>8.4f} {p.psnr:>7.2f} {p.latent_bytes:>13} "
        f"{p.decode_fps:>11.1f}" for p in rows if isinstance(p, SchemePoint)])


def write_report(path: Path, rows: list, command: str) -> Path:
    """``report.md`` of the saved rows (:mod:`eval.benchreport`): each kind of row that is there."""
    from eval.benchreport import Section, write_report as write

    sections = []
    if any(isinstance(r, Cost) for r in rows):
        sections.append(Section("Decoder multiply-adds per pixel (grid's defaults)", cost_table(rows),
                                "Counted from the network shapes: synthesis, trilinear upsampling at 8 per "
                                "level, context networks per latent."))
    if any(isinstance(r, StepRate) for r in rows):
        sections.append(Section("Training speed, one thread", speed_table(rows)))
    if any(isinstance(r, SchemePoint) for r in rows):
        sections.append(Section("Context schemes", scheme_table(rows),
                                "Written files: bytes, bpp, PSNR-RGB of the decoded file, the latents' bytes "
                                "and the decoding speed."))
    return write(path, "grid: decoder cost, training speed, context schemes", command, sections)
