"""The encoder's last word on a file it wrote: keep it, try once more, or refuse it.

A fit can end far worse than it was: hnerv at ``--quality 6`` on a 320x180 clip trained to 32.6 dB,
collapsed to 11 dB (its output saturated at 255) and wrote that white video with exit status 0.
The training loop's guards (:mod:`codec.tools.runner`) keep the best state they saw; this check is
the backstop after the file is written, on the figure that counts: the PSNR-RGB of the frames
decoded back from the file. A file is refused when that PSNR lies

* more than :data:`BELOW_BEST_DB` under the best training PSNR the encode reports (training PSNR
  is measured on the same quantized network the stream holds, so a healthy file lies within about
  a decibel of it), or
* more than :data:`BELOW_MEAN_FRAME_DB` under the *mean-frame baseline*: the PSNR of the
  per-pixel temporal mean of the encoded source frames, what a decoder that learnt nothing about
  motion would score. Not under the baseline itself: on low-motion clips healthy low-rate files
  lie under it (carphone, 32 frames at 176x144: the mean frame scores 26.93 dB; nerv's level 1
  25.19, nirvana's 23.92, grid's 23.96, from ``docs/data/rd``), while a collapsed or stuck
  output lies far under it (the white video: 11.0 dB against 22.8 on bigbuckbunny at 320x180).

:func:`verdict` says why a file is refused (or ``None``); the single-fit encoder retries a
refused encode once with another seed and raises :class:`codec.errors.EncodeRejected`, leaving no
file, when the retry is refused too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from codec.metrics import psnr_rgb

#: A decoded PSNR this far under the best training PSNR is a collapse, dB.
BELOW_BEST_DB = 4.0
#: A decoded PSNR this far under the clip's mean-frame baseline is a broken video, dB.
BELOW_MEAN_FRAME_DB = 6.0
#: Frames read at a time for the baseline.
CHUNK = 16


@dataclass(frozen=True)
class Check:
    """What the final check compared: the file's decoded PSNR-RGB, the best training PSNR the
    encode reported (None: it reports none) and the mean-frame baseline."""

    psnr: float
    best_train_psnr: float | None
    mean_frame_psnr: float

    def verdict(self) -> str | None:
        """Why the file is refused, in one clause, or None when it is kept."""
        if not math.isfinite(self.psnr):
            return f"its decoded PSNR is {self.psnr}"
        best = self.best_train_psnr
        if best is not None and math.isfinite(best) and self.psnr < best - BELOW_BEST_DB:
            return (f"it decodes to {self.psnr:.2f} dB, {best - self.psnr:.1f} dB under the best seen in "
                    f"training ({best:.2f} dB)")
        if self.psnr < self.mean_frame_psnr - BELOW_MEAN_FRAME_DB:
            return (f"it decodes to {self.psnr:.2f} dB, {self.mean_frame_psnr - self.psnr:.1f} dB under the "
                    f"clip's mean frame ({self.mean_frame_psnr:.2f} dB)")
        return None


def mean_frame_psnr(read: Callable[[int, int], np.ndarray], count: int) -> float:
    """Mean PSNR-RGB over the frames ``0 .. count - 1`` (``read(offset, n)`` gives them, (n,H,W,3)
    uint8) of their per-pixel temporal mean, rounded to 8 bits: two passes, :data:`CHUNK` frames
    at a time."""
    total: np.ndarray | None = None
    for first in range(0, count, CHUNK):
        block = read(first, min(CHUNK, count - first)).astype(np.float64)
        total = block.sum(axis=0) if total is None else total + block.sum(axis=0)
    mean = np.clip(np.rint(total / count), 0, 255).astype(np.uint8)
    scores = [psnr_rgb(read(first, n), np.broadcast_to(mean, (n, *mean.shape)))
              for first in range(0, count, CHUNK) for n in [min(CHUNK, count - first)]]
    return float(np.concatenate(scores).mean())
