"""The single-fit encoder: one encode of one config into one file, measured on the frames decoded
back from that file. :func:`codec.api.encode` dispatches here (or to rate control, which calls
this once per probe and per full fit); this module imports neither of them.

Rate is the written file's size; quality is measured on frames decoded back from the file, never on
the encoder's own reconstruction.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream.container import Header, StreamReader, StreamWriter
from codec import stopsignals
from codec.color import rgb_to_yuv420
from codec.config import EncodeConfig, frame_range
from codec.device import configure_threads, resolve_device
from codec.errors import EncodeRejected
from codec.family import Geometry
from codec.finalcheck import Check, best_of, mean_frame_psnr
from codec.metrics import psnr_rgb, psnr_yuv420
from codec.registry import family_by_id, get_family
from codec.results import EncodeResult
from codec.timing import Timed
from codec.video import VideoInput, VideoReader, open_input

__all__ = ["encode_once", "RangeSource", "PIX_FMT_RGB24", "MATRIX_BT601"]

PIX_FMT_RGB24 = 0
MATRIX_BT601 = 0


@dataclass
class RangeSource:
    """The frames ``start .. start + count - 1`` of a video, as a family's :class:`FrameSource`."""

    reader: VideoReader
    start: int
    geometry: Geometry

    def read(self, offset: int, count: int) -> np.ndarray:
        return self.reader.read(self.start + offset, count)


def encode_once(src: Path | VideoInput, dst: Path, config: EncodeConfig) -> EncodeResult:
    """Fit ``config``'s family to ``src``'s frame range once, write ``dst`` and measure it: the file's
    bpp, and PSNR-RGB / PSNR-YUV of its decoded frames against the source.

    Then the final check (:mod:`codec.finalcheck`): a file that decodes far under the best PSNR
    seen in training is encoded once more with the next seed (a fresh start: another
    initialisation and batch order; the guards inside the fit have already gone back to their best
    snapshot where they could). When that file is refused too, ``dst`` is removed and
    :class:`EncodeRejected` says why, in one line, with the clip's mean-frame baseline beside it."""
    first = _fit_and_measure(src, dst, config)
    if first.verdict is None:
        return first.result
    retry = replace(config, seed=config.seed + 1)
    second = _fit_and_measure(src, dst, retry)
    if second.verdict is None:
        return replace(second.result, retries=1)
    dst.unlink(missing_ok=True)
    with open_input(src) as reader:
        start, count = frame_range(reader.info.num_frames, config.start, config.count)
        baseline = mean_frame_psnr(lambda offset, n: reader.read(start + offset, n), count)
    raise EncodeRejected(f"{config.model} refused its file: {first.verdict}; again with seed {retry.seed}: "
                         f"{second.verdict} (the clip's mean frame scores {baseline:.2f} dB); no file written")


@dataclass(frozen=True)
class _Measured:
    """An encode's result and the final check's verdict on its file (None: kept)."""

    result: EncodeResult
    verdict: str | None


def _fit_and_measure(src: Path | VideoInput, dst: Path, config: EncodeConfig) -> _Measured:
    """One fit written to ``dst``, measured, and judged by the final check."""
    family = get_family(config.model)
    device = resolve_device(config.device)
    threads = configure_threads(config.job_threads)
    note = None
    if config.parallel and family.serial_reason is not None:
        note = f"{family.name} runs as one job: {family.serial_reason}"
        if config.progress:
            print(f"inrv: note: {note}", file=sys.stderr, flush=True)
    with open_input(src) as reader:
        info = reader.info
        start, count = frame_range(info.num_frames, config.start, config.count)
        geometry = Geometry(info.width, info.height, count, Fraction(info.fps))
        model_cfg = family.make_config(config, geometry)
        header = Header(
            width=info.width,
            height=info.height,
            num_frames=count,
            fps_num=geometry.fps.numerator,
            fps_den=geometry.fps.denominator,
            pix_fmt=PIX_FMT_RGB24,
            colour_matrix=MATRIX_BT601,
            family_id=family.family_id,
            model_config=family.pack(model_cfg),
        )
        t0 = time.perf_counter()
        with StreamWriter(dst, header) as writer, stopsignals.temporary(writer.temp_path):
            stats = family.encode(model_cfg, RangeSource(reader, start, geometry), config,
                                  writer.write_chunk, device)
        encode_seconds = time.perf_counter() - t0
        rgb, yuv, decode_seconds = _measure(dst, reader, start, device)
    file_bytes = dst.stat().st_size
    check = Check(psnr=rgb, best_train_psnr=best_of(stats.best_psnr, stats.train_psnr))
    result = EncodeResult(
        path=dst,
        model=family.name,
        width=info.width,
        height=info.height,
        num_frames=count,
        file_bytes=file_bytes,
        bpp=file_bytes * 8 / geometry.pixels,
        psnr_rgb=rgb,
        psnr_yuv=yuv,
        encode_seconds=encode_seconds,
        decode_seconds=decode_seconds,
        steps=stats.steps,
        estimated_bpp=stats.estimated_bits / geometry.pixels,
        lmbda=stats.lmbda,
        threads=threads,
        frame_passes=stats.frame_steps_per_second * stats.seconds,
        groups=stats.groups,
        train_psnr=stats.train_psnr,
        best_train_psnr=stats.best_psnr,
        restarts=stats.restarts,
        restored=stats.restored,
        jobs=stats.jobs,
        note=note,
    )
    return _Measured(result, check.verdict())


def _measure(path: Path, reader: VideoReader, start: int, device) -> tuple[float, float, float]:
    """Mean PSNR-RGB and PSNR-YUV of the decoded file against the source, and decode seconds. The
    file is read back as a decoder reads it: its header names the family, config and geometry.

    PSNR-YUV compares 4:2:0 planes (of odd sizes too: ceil(W/2) x ceil(H/2) chroma).
    """
    rgb_scores: list[np.ndarray] = []
    yuv_scores: list[np.ndarray] = []
    with StreamReader(path) as stream:
        head = stream.header
        family = family_by_id(head.family_id)
        geometry = Geometry(head.width, head.height, head.num_frames, Fraction(head.fps_num, head.fps_den))
        decoder = family.decoder(family.unpack(head.model_config), geometry, stream, device)
        position = 0
        frames = Timed(decoder.render(0, geometry.num_frames))  # render seconds (README, "Speed figures")
        for decoded in frames:
            n = len(decoded)
            rgb_scores.append(psnr_rgb(reader.read(start + position, n), decoded))
            ref_yuv = reader.read_yuv(start + position, n)
            yuv_scores.append(psnr_yuv420(ref_yuv, rgb_to_yuv420(decoded)))
            position += n
    return float(np.concatenate(rgb_scores).mean()), float(np.concatenate(yuv_scores).mean()), frames.seconds
