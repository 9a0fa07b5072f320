"""The one measurement of every method: decoded frames against the sequence's own frames, and peak memory.

:func:`measure` walks the reference (the sequence's 8-bit 4:2:0 frames) and a method's decoded
frames side by side, block by block, and feeds :class:`eval.metrics.QualityAccumulator`, which computes
per frame

* PSNR-RGB: both sides in RGB through :func:`codec.color.yuv420_to_rgb` (the one BT.601 conversion;
  RGB output of inrv is taken as it is),
* PSNR-YUV: 4:2:0 planes, ``(6 Y + U + V) / 8`` per frame (RGB output converted with
  :func:`codec.color.rgb_to_yuv420`),
* MS-SSIM on RGB (fewer scales for frames below 161 px, see :mod:`eval.metrics`),

each figure then being the mean over frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from codec.errors import VideoError
from codec.video.frames import YUVFrames
from eval.base import DecodedChunk
from eval.metrics import Quality, QualityAccumulator, ms_ssim, ms_ssim_weights

if TYPE_CHECKING:
    from eval.datasets import Sequence

__all__ = ["measure", "PeakMemory"]


def _regroup(chunks: Iterable[DecodedChunk], sizes: Iterator[int]) -> Iterator[DecodedChunk]:
    """Re-cut a stream of decoded blocks into blocks of the given sizes."""
    pending: list[DecodedChunk] = []
    have = 0
    source = iter(chunks)
    for size in sizes:
        while have < size:
            block = next(source, None)
            if block is None:
                raise VideoError(f"the decoded video ends early ({have} of {size} frames of a block left)")
            pending.append(block)
            have += len(block)
        joined = pending[0] if len(pending) == 1 else _concat(pending)
        yield joined[:size]
        rest = joined[size:]
        pending, have = ([rest], len(rest)) if len(rest) else ([], 0)
    if have or next(source, None) is not None:
        raise VideoError("the decoded video has more frames than the sequence")


def _concat(blocks: list[DecodedChunk]) -> DecodedChunk:
    if isinstance(blocks[0], YUVFrames):
        return YUVFrames.concatenate(blocks)  # type: ignore[arg-type]
    return np.concatenate(blocks)


def _ms_ssim_possible(width: int, height: int) -> bool:
    """MS-SSIM needs more than one window (11 pixels) on each side (fewer scales below 161 px)."""
    try:
        ms_ssim_weights(height, width)
    except VideoError:
        return False
    return True


def measure(seq: "Sequence", decoded: Iterable[DecodedChunk], *, chunk: int = 8) -> Quality:
    """Quality of ``decoded`` (blocks of YUV planes or RGB frames, in order) against ``seq``."""
    accumulator = QualityAccumulator(ms_ssim=ms_ssim if _ms_ssim_possible(seq.width, seq.height) else None)
    sizes = (min(chunk, seq.num_frames - i) for i in range(0, seq.num_frames, chunk))
    # the decoded side first: it raises when it has more or fewer frames than the sequence
    for dec, ref in zip(_regroup(decoded, sizes), seq.yuv_chunks(chunk)):
        if isinstance(dec, YUVFrames):
            dec_yuv, dec_rgb = dec, dec.to_rgb()
        else:
            dec_yuv, dec_rgb = None, dec
        accumulator.update(ref.to_rgb(), dec_rgb, ref, dec_yuv)
    quality = accumulator.result()
    if quality.num_frames != seq.num_frames:
        raise VideoError(f"measured {quality.num_frames} frames, the sequence has {seq.num_frames}")
    if quality.ms_ssim is not None and math.isnan(quality.ms_ssim):
        return replace(quality, ms_ssim=None)
    return quality


class PeakMemory:
    """Peak resident memory of this process inside a ``with`` block (MiB), and CUDA's peak if in use.

    Linux lets a process reset its high-water mark (``/proc/self/clear_refs`` ``5``); the peak is the
    ``VmHWM`` read on exit. It includes what the process already held (Python, torch), as an ffmpeg
    child's peak includes its own start-up. Elsewhere the figure is the lifetime peak (``ru_maxrss``).
    """

    def __init__(self) -> None:
        self.peak_mb = float("nan")
        self.gpu_peak_mb: float | None = None

    def __enter__(self) -> "PeakMemory":
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        torch = _loaded_torch()
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_mb = _vm_hwm_mb()
        torch = _loaded_torch()
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            # reset on entry, or first used inside the block: either way the peak is the block's
            self.gpu_peak_mb = torch.cuda.max_memory_allocated() / 2**20


def _loaded_torch():
    import sys

    return sys.modules.get("torch")


def _vm_hwm_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
