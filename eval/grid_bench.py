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
