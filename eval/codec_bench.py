"""Benchmarks of inrv's own families: RD sweeps, BD-rates between families, quantization in
training against post-training quantization, training throughput, decode speed and GFLOP/s,
through codec's public API.

Every rate is a written file's size and every quality is measured on frames decoded from it.
``scripts/bench_codec.py`` prints these; nothing here is asserted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import codec
from codec.config import EncodeConfig
from codec.device import configure_threads
from codec.video import open_video
from eval.bdrate import bd_rate
from eval.metrics import ms_ssim


@dataclass(frozen=True)
class RDPoint:
    family: str
    label: str
    bpp: float
    psnr_rgb: float
    psnr_yuv: float
    ms_ssim: float
    encode_s: float
    decode_fps: float
    steps: int
    file_bytes: int
    frame_passes: float = 0.0
    key_seconds: float = 0.0  #: training seconds of the key groups (group-wise families; 0 otherwise)


def encode_point(src: Path, out: Path, config: EncodeConfig, label: str) -> RDPoint:
    """Encode, then measure MS-SSIM on the frames decoded from the file."""
    result = codec.encode(src, out, config)
    with codec.open(out, device=config.device) as coded, open_video(src) as ref:
        decoded = np.stack(list(coded.frames()))
        reference = ref.read(config.start, result.num_frames)
    return RDPoint(
        family=config.model,
        label=label,
        bpp=result.bpp,
        psnr_rgb=result.psnr_rgb,
        psnr_yuv=result.psnr_yuv,
        ms_ssim=float(ms_ssim(reference, decoded).mean()),
        encode_s=result.encode_seconds,
        decode_fps=result.num_frames / max(result.decode_seconds, 1e-9),
        steps=result.steps,
        file_bytes=result.file_bytes,
        frame_passes=result.frame_passes,
        key_seconds=sum(g.seconds for g in result.groups if g.key),
    )


def needed_to_reach(points: list[RDPoint], psnr: float, key: str = "encode_s") -> float | None:
    """What a family spends (``key``: seconds or frame passes) to reach ``psnr``: linear between
    the two points that bracket it (points sorted by steps; the running best PSNR so far counts),
    None when no point reaches it."""
    pts = sorted(points, key=lambda p: p.steps)
    best_psnr, prev = -np.inf, None
    for p in pts:
        if p.psnr_rgb >= psnr:
            if prev is None or best_psnr >= psnr:
                return getattr(p, key)
            a, b = prev
            frac = (psnr - b) / max(p.psnr_rgb - b, 1e-9)
            return a + frac * (getattr(p, key) - a)
        if p.psnr_rgb > best_psnr:
            best_psnr, prev = p.psnr_rgb, (getattr(p, key), p.psnr_rgb)
    return None


def as_sweeps(points: list[RDPoint] | dict[str, list[RDPoint]]) -> dict[str, list[RDPoint]]:
    """A family's sweeps by name (one per model size); a single sweep comes back unnamed."""
    return points if isinstance(points, dict) else {"": points}


def sweep_psnrs(sweeps: dict[str, list[RDPoint]]) -> list[float]:
    """Every PSNR-RGB a family's sweeps were measured at."""
    return [p.psnr_rgb for pts in sweeps.values() for p in pts]


def cheapest_to_reach(sweeps: dict[str, list[RDPoint]], psnr: float) -> tuple[float, float, str] | None:
    """(seconds, frame passes, sweep name) of the sweep that reaches ``psnr`` in the least encode
    time (each sweep, e.g. one model size, interpolated as in ``needed_to_reach``); None when none
    does. The passes are that sweep's, so seconds over passes stays one sweep's cost per pass."""
    best = None
    for name, points in sweeps.items():
        seconds = needed_to_reach(points, psnr)
        if seconds is not None and (best is None or seconds < best[0]):
            best = (seconds, needed_to_reach(points, psnr, "frame_passes"), name)
    return best


def matched_psnr_table(nerv: list[RDPoint] | dict[str, list[RDPoint]],
                       nir: list[RDPoint] | dict[str, list[RDPoint]], frames: int) -> list[str]:
    """Encode seconds of NeRV and NIRVANA at the PSNRs both step sweeps reach, their ratio, and
    what it is made of: training frame passes per frame of video, and milliseconds per pass
    (encode seconds over passes, so the ratio is exactly the product of the two ratios).

    Either family may come as several sweeps by name (one per model size): at each PSNR it is
    then timed by its fastest sweep there, and two more columns name the sweeps used."""
    named = [as_sweeps(nerv), as_sweeps(nir)]
    several = any(len(x) > 1 for x in named)
    lines = [f"{'PSNR':>6} {'nerv sec':>8} {'nirvana sec':>11} {'ratio':>6}   "
             f"{'passes/frame nerv':>17} {'nirvana':>8}   {'ms/pass nerv':>12} {'nirvana':>8}"
             + (f"   {'size nerv':>9} {'nirvana':>8}" if several else "")]
    reached = [sweep_psnrs(x) for x in named]
    ceiling, floor = min(map(max, reached)), max(map(min, reached))
    levels: list[float] = []
    for psnr in sorted(v for values in reached for v in values if floor <= v <= ceiling):
        # exact values (a rounded one may lie above its point), one row per printed PSNR: the higher
        if levels and f"{psnr:.2f}" == f"{levels[-1]:.2f}":
            levels[-1] = psnr
        else:
            levels.append(psnr)
    for psnr in levels:
        a, b = (cheapest_to_reach(x, psnr) for x in named)
        if a is not None and b is not None and a[1] and b[1]:
            (t_nerv, f_nerv, s_nerv), (t_nir, f_nir, s_nir) = a, b
            lines.append(f"{psnr:>6.2f} {t_nerv:>8.1f} {t_nir:>11.1f} {t_nerv / t_nir:>6.1f}   "
                         f"{f_nerv / frames:>17.1f} {f_nir / frames:>8.1f}   "
                         f"{1000 * t_nerv / f_nerv:>12.1f} {1000 * t_nir / f_nir:>8.1f}"
                         + (f"   {s_nerv:>9} {s_nir:>8}" if several else ""))
    if len(lines) == 1:
        lines.append("(no PSNR reached by both sweeps)")
    lines.append("(seconds: encode wall time; a frame pass: one frame rendered and back-propagated in "
                 "training; ratio = passes/frame ratio x ms/pass ratio"
                 + ("; size: the sweep that got there first)" if several else ")"))
    return lines


def key_group_bound_table(nerv: list[RDPoint] | dict[str, list[RDPoint]],
                          nir: list[RDPoint] | dict[str, list[RDPoint]]) -> list[str]:
    """For each NIRVANA point within NeRV's sweeps: the encode-time ratio nerv / nirvana at its
    PSNR, and the ratio it would have if only its key groups (the first group, and the first after
    each scene cut: trained from scratch on the long schedule) took any time, nerv's seconds over
    the key groups' training seconds. No change to the later groups can take the ratio above that
    bound."""
    nerv_sweeps = as_sweeps(nerv)
    # as in matched_psnr_table, nothing below the lowest PSNR nerv was measured at: there its time
    # is only bounded by its first point's (needed_to_reach), which would overstate ratio and bound
    floor = min(sweep_psnrs(nerv_sweeps), default=float("inf"))
    points = [p for pts in as_sweeps(nir).values() for p in pts if p.psnr_rgb >= floor]
    lines = [f"{'PSNR':>6} {'nirvana point':>14} {'sec':>7} {'key groups sec':>14} {'nerv sec':>8} "
             f"{'ratio':>6} {'bound':>6}"]
    for p in sorted(points, key=lambda q: q.psnr_rgb):
        reach = cheapest_to_reach(nerv_sweeps, p.psnr_rgb)
        if reach is None or p.key_seconds <= 0:
            continue
        t_nerv = reach[0]
        lines.append(f"{p.psnr_rgb:>6.2f} {p.label:>14} {p.encode_s:>7.1f} {p.key_seconds:>14.1f} "
                     f"{t_nerv:>8.1f} {t_nerv / p.encode_s:>6.1f} {t_nerv / p.key_seconds:>6.1f}")
    if len(lines) == 1:
        lines.append("(no nirvana point within nerv's sweeps)")
    lines.append("(bound: nerv's seconds over the key groups' training seconds, the ratio if every later "
                 "group cost nothing)")
    return lines


def rd_sweep(src: Path, workdir: Path, base: EncodeConfig, lambdas: list[float]) -> list[RDPoint]:
    """One point per lambda, everything else as in ``base``."""
    from dataclasses import replace

    return [
        encode_point(src, workdir / f"{base.model}_{i}.inrv", replace(base, options=replace(base.options, lmbda=lm)),
                     f"lambda={lm:g}")
        for i, lm in enumerate(lambdas)
    ]


def size_sweep(src: Path, workdir: Path, base: EncodeConfig, presets: list[str], tag: str) -> list[RDPoint]:
    """One point per network size (the rate knob of post-training quantization)."""
    from dataclasses import replace

    return [
        encode_point(src, workdir / f"{base.model}_{tag}_{p}.inrv",
                     replace(base, options=replace(base.options, preset=p)), f"{tag} {p}")
        for p in presets
    ]


def is_monotone(points: list[RDPoint]) -> bool:
    """Sorted by rate, quality never drops."""
    ordered = sorted(points, key=lambda p: p.bpp)
    return all(b.psnr_rgb >= a.psnr_rgb for a, b in zip(ordered, ordered[1:]))


def bd_rate_text(anchor: list[RDPoint], test: list[RDPoint]) -> str:
    """BD-rate of ``test`` against ``anchor`` on PSNR-RGB (negative: ``test`` saves bits)."""
    result = bd_rate([p.bpp for p in anchor], [p.psnr_rgb for p in anchor],
                     [p.bpp for p in test], [p.psnr_rgb for p in test])
    return result.text()


def rd_table(points: list[RDPoint]) -> str:
    lines = [f"{'family':<7} {'point':<16} {'bytes':>8} {'bpp':>8} {'PSNR-RGB':>9} {'PSNR-YUV':>9} "
             f"{'MS-SSIM':>8} {'steps':>6} {'enc s':>7} {'dec fps':>8}"]
    for p in points:
        lines.append(f"{p.family:<7} {p.label:<16} {p.file_bytes:>8} {p.bpp:>8.4f} {p.psnr_rgb:>9.2f} "
                     f"{p.psnr_yuv:>9.2f} {p.ms_ssim:>8.4f} {p.steps:>6} {p.encode_s:>7.1f} "
                     f"{p.decode_fps:>8.1f}")
    return "\n".join(lines)


@dataclass(frozen=True)
class SpeedReport:
    family: str
    width: int
    height: int
    file_bytes: int
    train_frame_steps_per_s: float
    decode_fps: float
    gflop_per_frame: float
    gflops_achieved: float


def speed(family_name: str, src: Path, count: int, workdir: Path, preset: str, steps: int = 30,
          device: str = "cpu") -> SpeedReport:
    """Training throughput (frame passes per second of encoding), decoder frames/s and achieved
    GFLOP/s of the decoder, through the public API: encode ``count`` frames of ``src`` for
    ``steps`` steps, then render every frame of the file (counted with torch's FLOP counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    configure_threads()
    out = workdir / f"speed_{family_name}.inrv"
    config = EncodeConfig.of(model=family_name, count=count, preset=preset, steps=steps, device=device,
                             progress=False)
    result = codec.encode(src, out, config)
    with codec.open(out, device=device) as coded:
        def render() -> None:
            for _ in coded.decoder.render(0, count):
                pass

        render()  # warm-up
        counter = FlopCounterMode(display=False)
        with counter:
            render()
        flops = counter.get_total_flops()
        reps, t0 = 0, time.perf_counter()
        while reps < 3 or time.perf_counter() - t0 < 2.0:
            render()
            reps += 1
        seconds = (time.perf_counter() - t0) / reps
    return SpeedReport(
        family=family_name, width=result.width, height=result.height, file_bytes=result.file_bytes,
        train_frame_steps_per_s=result.frame_passes / max(result.encode_seconds, 1e-9),
        decode_fps=count / seconds,
        gflop_per_frame=flops / count / 1e9,
        gflops_achieved=flops / seconds / 1e9,
    )


@dataclass(frozen=True)
class SpeedSweeps:
    """One clip's time-vs-PSNR sweeps, each family's by model size (as the NIRVANA bench runs them)."""

    clip: str
    frames: int
    nerv: dict[str, list[RDPoint]]
    nirvana: dict[str, list[RDPoint]]


def merge_speed_sweeps(reports: list[dict]) -> list[SpeedSweeps]:
    """The time-vs-PSNR sweeps saved in NIRVANA bench reports (``scripts/bench_nirvana.py
    --json``), put together per clip and model size: sweeps of several runs made side by side,
    each of a few sizes or step counts, become one clip's sweeps, so that the matched-PSNR and
    key-group tables can be printed over all of them. A clip is one report key ``NAME:FRAMES``;
    a clip that lacks either family is left out. Raises ValueError for a report not of this shape."""
    merged: dict[str, dict[str, dict[str, list[RDPoint]]]] = {}
    for report in reports:
        if not isinstance(report, dict):
            raise ValueError("not a bench report (a JSON object)")
        for clip, sections in report.items():
            if clip == "args" or not isinstance(sections, dict):
                continue
            for name, points in sections.items():
                family, _, size = name.removeprefix("speed ").partition(" ")
                if not name.startswith("speed ") or family not in ("nerv", "nirvana"):
                    continue
                try:
                    parsed = [RDPoint(**p) for p in points]
                except TypeError as exc:
                    raise ValueError(f"{clip}, {name!r}: not a list of bench points ({exc})") from None
                merged.setdefault(clip, {"nerv": {}, "nirvana": {}})[family].setdefault(size, []).extend(parsed)
    out = []
    for clip, families in merged.items():
        name, _, frames = clip.rpartition(":")
        if not (name and frames.isdigit() and int(frames) > 0):
            raise ValueError(f"{clip!r}: a clip key should read NAME:FRAMES")
        if families["nerv"] and families["nirvana"]:
            out.append(SpeedSweeps(clip, int(frames), families["nerv"], families["nirvana"]))
    return out
