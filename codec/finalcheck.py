"""The encoder's last word on a file it wrote: keep it, try once more, or refuse it.

A fit can end far worse than it was: hnerv at ``--quality 6`` on a 320x180 clip trained to 32.6 dB,
collapsed to 11 dB (its output saturated at 255) and wrote that white video with exit status 0.
The training loop's guards (:mod:`codec.tools.runner`) keep the best state they saw; this check is
the backstop after the file is written, on the figure that counts: the PSNR-RGB of the frames
decoded back from the file. A file is refused when that PSNR lies more than :data:`BELOW_BEST_DB` under the best training
PSNR the encode reports (the best running figure or the last, whichever is higher). Training PSNR
is measured on the same quantized network the stream holds, so a healthy file lies within about
half a decibel of it (hnerv level 6 on bigbuckbunny at 320x180: 30.18 dB decoded against a best
running 30.63), and a collapsed one far under it (the white video: 11.0 dB against 32.6).

The clip's *mean-frame baseline* (the PSNR of the per-pixel temporal mean of the encoded source
frames, :func:`mean_frame_psnr`) is measured for the refusal's message, not used to refuse: healthy
files lie far under it wherever the clip moves little. On carphone, 32 frames at 176x144, the mean
frame scores 26.93 dB and nerv's level 1 25.19, nirvana's 23.92, grid's 23.96 (``docs/data/rd``);
nirvana on 4 frames of carphone with a few steps 22.8 dB against 42.4; teconerv's test encode
19.5 dB against 27.6 (it predicts and reports no training PSNR, so nothing refuses its files).

:meth:`Check.verdict` says why a file is refused (or ``None``); the single-fit encoder retries a
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
#: Frames read at a time for the baseline.
CHUNK = 16


@dataclass(frozen=True)
class Check:
    """What the final check compares: the file's decoded PSNR-RGB and the best training PSNR the
    encode reported (None: it reports none, and the file is kept)."""

    psnr: float
    best_train_psnr: float | None

    def verdict(self) -> str | None:
        """Why the file is refused, in one clause, or None when it is kept."""
        if not math.isfinite(self.psnr):
            return f"its decoded PSNR is {self.psnr}"
        best = self.best_train_psnr
        if best is not None and math.isfinite(best) and self.psnr < best - BELOW_BEST_DB:
            return (f"it decodes to {self.psnr:.2f} dB, {best - self.psnr:.1f} dB under the best seen in "
                    f"training ({best:.2f} dB)")
        return None


def best_of(*psnrs: float | None) -> float | None:
    """The highest of the finite training PSNRs an encode reports (the best running one, the
    last), or None when it reports none (teconerv does not train)."""
    finite = [p for p in psnrs if p is not None and math.isfinite(p)]
    return max(finite) if finite else None


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
