"""Quality and rate metrics used by the codec's own reports (pure numpy).

Conventions (the same as :mod:`eval.metrics`, which re-exports this module):

* Frames are compared per frame; arrays have the frame axis first. A single frame ``(H, W, 3)`` or
  plane ``(H, W)`` counts as one frame.
* PSNR uses MAX = 255 on 8-bit values, computed in float64. Identical frames (MSE = 0) would give an
  infinite PSNR; every PSNR is capped at :data:`PSNR_CAP` = 100 dB so that means stay finite. Only
  identical or nearly identical frames reach it (a single value off by one in a 1080p RGB frame is
  116 dB; MSE 0.0065, a mean error far below any codec's, is 100 dB).
* PSNR-RGB: MSE over the three channels of a frame, then PSNR.
* PSNR-YUV 4:2:0: PSNR of each plane (Y, U, V) separately, capped, then weighted
  ``(6 * PSNR_Y + PSNR_U + PSNR_V) / 8``, as in the video-coding literature (JVET common test
  conditions and the learned-video-coding papers that report "YUV PSNR"). The weighting is of the
  per-plane PSNRs, not of the MSEs.
* Sequence means are means over frames of per-frame PSNRs.
* bpp = bytes * 8 / (width * height * frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Tuple, Union

import numpy as np

from codec.errors import VideoError
from codec.video.frames import YUVFrames

__all__ = [
    "PSNR_CAP",
    "mse",
    "psnr_from_mse",
    "psnr_rgb",
    "psnr_yuv420",
    "bpp",
    "Quality",
    "QualityAccumulator",
    "YUVPlanes",
    "PlanesLike",
]

PSNR_CAP = 100.0
"""PSNR reported for identical frames (and the ceiling of every PSNR), in dB."""
MAX_VALUE = 255.0


class YUVPlanes(Protocol):
    """Anything with uint8 planes ``y`` ``(N, H, W)``, ``u``, ``v`` ``(N, H/2, W/2)`` (e.g. ``YUVFrames``)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _frames(ref: np.ndarray, dec: np.ndarray, frame_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and give both as ``(N, ...)`` with ``frame_ndim`` axes per frame."""
    ref, dec = np.asarray(ref), np.asarray(dec)
    if ref.shape != dec.shape:
        raise VideoError(f"reference {ref.shape} and decoded {dec.shape} frames differ in shape")
    if ref.ndim == frame_ndim:
        ref, dec = ref[None], dec[None]
    if ref.ndim != frame_ndim + 1:
        raise VideoError(f"expected frames with {frame_ndim} axes (plus a frame axis), got shape {ref.shape}")
    return ref, dec


def _stack(frames: np.ndarray) -> np.ndarray:
    """RGB frames with a frame axis (one ``(H, W, 3)`` frame becomes ``(1, H, W, 3)``)."""
    frames = np.asarray(frames)
    return frames[None] if frames.ndim == 3 else frames


def mse(ref: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Per-frame mean squared error (float64) over all axes but the first.

    Frames ``(N, ...)``; a single frame or plane without frame axis is not guessed: pass ``x[None]``.
    """
    ref, dec = np.asarray(ref), np.asarray(dec)
    if ref.shape != dec.shape or ref.ndim < 2:
        raise VideoError(f"reference {ref.shape} and decoded {dec.shape} must be equal-shape frame stacks")
    diff = ref.astype(np.float64) - dec.astype(np.float64)
    return np.mean(np.square(diff).reshape(ref.shape[0], -1), axis=1)


def psnr_from_mse(err: np.ndarray | float, max_value: float = MAX_VALUE) -> np.ndarray:
    """``10 log10(MAX^2 / MSE)`` per element, capped at :data:`PSNR_CAP` (MSE 0 gives the cap)."""
    err = np.asarray(err, dtype=np.float64)
    with np.errstate(divide="ignore"):
        value = 10.0 * np.log10(max_value**2 / err)
    return np.minimum(value, PSNR_CAP)


def psnr_rgb(ref: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Per-frame PSNR of uint8 RGB frames ``(N, H, W, 3)`` (or one ``(H, W, 3)``), MAX 255, capped."""
    ref, dec = _frames(ref, dec, 3)
    return psnr_from_mse(mse(ref, dec))


def _plane_psnr(ref: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Per-frame PSNR of one plane ``(N, h, w)`` or ``(h, w)``."""
    ref, dec = _frames(ref, dec, 2)
    return psnr_from_mse(mse(ref, dec))


PlanesLike = Union[YUVPlanes, Tuple[np.ndarray, np.ndarray, np.ndarray]]
"""YUV 4:2:0 frames as an object with ``y``/``u``/``v`` (``YUVFrames``) or a ``(y, u, v)`` tuple
(what :func:`codec.color.rgb_to_yuv420` returns)."""


def _planes(frames: PlanesLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, u, v)`` of either form of :data:`PlanesLike`."""
    if hasattr(frames, "y"):
        return frames.y, frames.u, frames.v  # type: ignore[union-attr]
    y, u, v = frames  # type: ignore[misc]
    return y, u, v


def psnr_yuv420(ref_yuv: PlanesLike, dec_yuv: PlanesLike) -> np.ndarray:
    """Per-frame ``(6 PSNR_Y + PSNR_U + PSNR_V) / 8`` of 4:2:0 frames (each plane PSNR capped first).

    Each argument is a ``YUVFrames`` (or anything with ``y``, ``u``, ``v``) or a ``(y, u, v)`` tuple.
    """
    (ry, ru, rv), (dy, du, dv) = _planes(ref_yuv), _planes(dec_yuv)
    return (6.0 * _plane_psnr(ry, dy) + _plane_psnr(ru, du) + _plane_psnr(rv, dv)) / 8.0


def bpp(num_bytes: int, width: int, height: int, frames: int) -> float:
    """Bits per pixel: ``num_bytes * 8 / (width * height * frames)``."""
    if width <= 0 or height <= 0 or frames <= 0 or num_bytes < 0:
        raise VideoError(f"bpp needs positive geometry and frames, got {width}x{height}x{frames}, {num_bytes} bytes")
    return num_bytes * 8.0 / (width * height * frames)


@dataclass(frozen=True)
class Quality:
    """Means over all frames seen by a :class:`QualityAccumulator`.

    ``per_frame_psnr`` holds the per-frame PSNR-RGB values in frame order.
    """

    psnr_rgb: float
    psnr_yuv: float
    ms_ssim: float | None
    per_frame_psnr: tuple[float, ...]

    @property
    def num_frames(self) -> int:
        """Frames measured."""
        return len(self.per_frame_psnr)


class QualityAccumulator:
    """Streams chunks of (reference, decoded) frames and gives the mean quality.

    ``ms_ssim`` is an optional callable ``(ref_rgb, dec_rgb) -> per-frame values`` (for example
    :func:`eval.metrics.ms_ssim`); without it :attr:`Quality.ms_ssim` is None. YUV PSNR is measured on
    the planes given to :meth:`update`, or on planes converted from the RGB frames with
    :mod:`codec.color` when none are given (so native YUV references should pass their planes).
    """

    def __init__(self, ms_ssim: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> None:
        self._ms_ssim_fn = ms_ssim
        self._psnr_rgb: list[np.ndarray] = []
        self._psnr_yuv: list[np.ndarray] = []
        self._ms_ssim: list[np.ndarray] = []

    def update(
        self,
        ref: np.ndarray,
        dec: np.ndarray,
        ref_yuv: PlanesLike | None = None,
        dec_yuv: PlanesLike | None = None,
    ) -> np.ndarray:
        """Add a chunk of uint8 RGB frames ``(N, H, W, 3)``; returns its per-frame PSNR-RGB."""
        rgb = psnr_rgb(ref, dec)
        ref_planes = ref_yuv if ref_yuv is not None else YUVFrames.from_rgb(_stack(ref))
        dec_planes = dec_yuv if dec_yuv is not None else YUVFrames.from_rgb(_stack(dec))
        yuv = psnr_yuv420(ref_planes, dec_planes)
        if len(yuv) != len(rgb):
            raise VideoError(f"{len(rgb)} RGB frames but {len(yuv)} YUV frames in one update")
        self._psnr_rgb.append(rgb)
        self._psnr_yuv.append(yuv)
        if self._ms_ssim_fn is not None:
            self._ms_ssim.append(np.asarray(self._ms_ssim_fn(_stack(ref), _stack(dec)), dtype=np.float64))
        return rgb

    @property
    def num_frames(self) -> int:
        """Frames added so far."""
        return int(sum(len(p) for p in self._psnr_rgb))

    def result(self) -> Quality:
        """Means over every frame added; :class:`VideoError` if none was."""
        if not self._psnr_rgb:
            raise VideoError("no frames were measured")
        rgb = np.concatenate(self._psnr_rgb)
        ms = float(np.mean(np.concatenate(self._ms_ssim))) if self._ms_ssim_fn is not None else None
        return Quality(
            psnr_rgb=float(np.mean(rgb)),
            psnr_yuv=float(np.mean(np.concatenate(self._psnr_yuv))),
            ms_ssim=ms,
            per_frame_psnr=tuple(float(x) for x in rgb),
        )
