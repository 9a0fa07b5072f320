"""Rate-distortion sweeps: every (sequence, method, setting) point, measured and saved as it finishes.

Layout under the output folder::

    results/<dataset>/<sequence>/<method>.json   one file per (sequence, method), rewritten after each point
    results/<dataset>/<method>.json              the curve averaged over sequences
    results/<dataset>/<sequence>/frames/         a crop of one decoded frame per point, and the source's
                                                 (eval.pictures; the report's pictures of the frames)
    work/<dataset>/<sequence>/                   bitstreams while they are measured (kept with keep_bitstreams)
    sources/<dataset>/                           cached lossless sequences (see eval.datasets)

A killed sweep loses at most the point in progress: re-running skips every point whose setting is
already in its file. A file made with a different method or sequence description (other preset,
steps, frame count...) is refused unless ``overwrite`` is set, so runs never mix.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codec.errors import ConfigError, EncodeRejected
from eval.base import Method, Setting
from eval.cluster import PointFailure
from eval.datasets import Sequence
from eval.measure import measure
from eval.metrics import bpp
from eval.pictures import frames_dir, grab_frame, picture_frame, save_crops
from eval.results import PointResult, SequenceResults, average, load, save, write_json

__all__ = ["SweepConfig", "SweepOutcome", "run_point", "run_sweep", "result_path", "failed_path", "method_settings"]


@dataclass(frozen=True)
class SweepConfig:
    """How to sweep: output folder, dataset label, points per method, user values per method."""

    out: Path
    dataset: str
    points: int = 4
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    chunk: int = 8
    overwrite: bool = False
    keep_bitstreams: bool = False
    progress: bool = True


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: result files per (sequence, method), averaged files, points run and
    reused, and the points that failed (Ray sweeps: ``{"sequence", "method", "setting", "error"}``)."""

    files: dict[tuple[str, str], Path]
    averaged: dict[str, Path]
    ran: int
    reused: int
    failed: tuple[dict, ...] = ()


#: How a worker's crops are named among the files it sends back (``frames/source.png``...).
FRAMES_PREFIX = "frames/"


def failed_path(out: Path, dataset: str) -> Path:
    """Where a sweep lists the points that failed (absent when none did)."""
    return out / "results" / dataset / "failed.json"


def _local(plan: list, config: "SweepConfig"):
    """The points one after another in this process. An encode whose file the codec's final check
    refused (:class:`codec.errors.EncodeRejected`: its training collapsed) is a failed point, listed
    with its message; any other error ends the sweep."""
    for i, (seq, method, setting, _) in enumerate(plan):
        workdir = config.out / "work" / config.dataset / seq.name
        try:
            point = run_point(method, seq, setting, workdir, chunk=config.chunk, keep=config.keep_bitstreams,
                              frames=frames_dir(config.out / "results" / config.dataset, seq.name))
        except EncodeRejected as exc:
            point = PointFailure(str(exc))
        yield i, point, {}


def result_path(out: Path, dataset: str, sequence: str, method: str) -> Path:
    return out / "results" / dataset / sequence / f"{method}.json"


def method_settings(method: Method, config: SweepConfig) -> list[Setting]:
    """The user's values for ``method`` if given, else ``config.points`` spread over its range."""
    given = config.values.get(method.name)
    if given:
        return [method.parse_setting(v) for v in given]
    return method.settings(config.points)


def run_point(method: Method, seq: Sequence, setting: Setting, workdir: Path, *, chunk: int = 8,
              keep: bool = False, frames: Path | None = None) -> PointResult:
    """Encode, decode (timed) and measure one point; ``frames``: the folder that keeps the crop of
    one decoded frame and the source's (:mod:`eval.pictures`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    encoded = method.encode(seq, setting, workdir)
    shown = picture_frame(seq.num_frames)
    grabbed: list = []
    try:
        decoded = method.decode(encoded, seq, workdir)
        quality = measure(seq, grab_frame(method.frames(encoded, seq, chunk), shown, grabbed), chunk=chunk)
    finally:
        if not keep:
            encoded.path.unlink(missing_ok=True)
    if frames is not None and grabbed:
        reader = seq.open()
        try:
            source = reader.read(shown, 1)[0]
        finally:
            reader.close()
        save_crops(frames, source, grabbed[0], method.name, setting.key)
    if decoded.num_frames != seq.num_frames:
        raise ConfigError(f"{method.name} decoded {decoded.num_frames} frames of {seq.num_frames}")
    return PointResult(
        setting=setting.as_dict(),
        num_bytes=encoded.num_bytes,
        bpp=bpp(encoded.num_bytes, seq.width, seq.height, seq.num_frames),
        psnr_rgb=quality.psnr_rgb,
        psnr_yuv=quality.psnr_yuv,
        ms_ssim=quality.ms_ssim,
        encode_s=encoded.seconds,
        decode_s=decoded.seconds,
        decode_fps=decoded.fps,
        encode_peak_mb=encoded.peak_mb,
        decode_peak_mb=decoded.peak_mb,
        extra=dict(encoded.extra),
    )


def _start(path: Path, fresh: SequenceResults, overwrite: bool) -> SequenceResults:
    """The results to continue from: the file's when it was made the same way, else a fresh start."""
    if not path.exists() or overwrite:
        return fresh
    old = load(path)
    same = json.loads(json.dumps([fresh.dataset, fresh.sequence, fresh.method]))
    if [old.dataset, old.sequence, old.method] != same:
        raise ConfigError(
            f"{path} was made with other settings ({old.method} on {old.sequence}); "
            "use another --out or --overwrite to redo it"
        )
    return old


def run_sweep(
    sequences: list[Sequence],
    methods: list[Method],
    config: SweepConfig,
    *,
    on_point: Callable[[Sequence, Method, PointResult], None] | None = None,
    executor=None,
) -> SweepOutcome:
    """Run every missing point of ``methods`` x ``sequences``; write result files as points finish.
    ``executor``: where points run (:class:`eval.cluster.RayExecutor`); None: here, in order."""
    plan: list[tuple[Sequence, Method, Setting, Path]] = []
    state: dict[Path, SequenceResults] = {}
    reused = 0
    settings = {m.name: method_settings(m, config) for m in methods}
    for seq in sequences:
        for method in methods:
            path = result_path(config.out, config.dataset, seq.name, method.name)
            fresh = SequenceResults(method.name, method.description(), config.dataset, seq.describe(), method.describe())
            state[path] = _start(path, fresh, config.overwrite)
            done = state[path].keys()
            for setting in settings[method.name]:
                if setting.key in done:
                    reused += 1
                else:
                    plan.append((seq, method, setting, path))
    bar = _progress(len(plan) + reused, reused, config.progress)
    failed: list[dict] = []
    points = _local(plan, config) if executor is None else executor.run(plan, config.chunk, config.keep_bitstreams)
    try:
        for i, point, files in points:
            seq, method, setting, path = plan[i]
            bar.set_postfix_str(f"{seq.name} {method.name} {setting.key}")
            if not isinstance(point, PointResult):  # a task that failed after its retries
                failed.append({"sequence": seq.name, "method": method.name, "setting": setting.as_dict(),
                               "error": point.error})
                bar.update(1)
                continue
            for name, data in files.items():  # bitstreams kept on a worker, and the frames' crops
                if name.startswith(FRAMES_PREFIX):
                    target = frames_dir(config.out / "results" / config.dataset, seq.name) / name[len(FRAMES_PREFIX):]
                else:
                    target = config.out / "work" / config.dataset / seq.name / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            state[path] = state[path].with_point(point)
            save(path, state[path])
            if on_point is not None:
                on_point(seq, method, point)
            bar.update(1)
    finally:
        bar.close()
        if not config.keep_bitstreams:
            shutil.rmtree(config.out / "work", ignore_errors=True)
    failures = failed_path(config.out, config.dataset)
    if failed:
        write_json(failures, failed)
    else:
        failures.unlink(missing_ok=True)
    for path, results in state.items():
        if not path.exists() and results.points:
            save(path, results)
    averaged = {}
    for method in methods:
        runs = [state[result_path(config.out, config.dataset, s.name, method.name)] for s in sequences]
        runs = [r for r in runs if r.points]
        if runs:
            avg_path = config.out / "results" / config.dataset / f"{method.name}.json"
            write_json(avg_path, average(runs))
            averaged[method.name] = avg_path
    files = {(s.name, m.name): result_path(config.out, config.dataset, s.name, m.name) for s in sequences for m in methods}
    return SweepOutcome(files=files, averaged=averaged, ran=len(plan) - len(failed), reused=reused,
                        failed=tuple(failed))


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="point", disable=not enabled, dynamic_ncols=True, leave=True)
