"""Evaluation metrics: everything of :mod:`codec.metrics`, plus MS-SSIM and the bpp of a file.

MS-SSIM follows pytorch-msssim (Gaussian window 11, sigma 1.5, K = (0.01, 0.03), data range 255) on
8-bit RGB, averaged over the three channels, per frame. The standard five scales need a short side
above 160 pixels (10 * 2**4). Smaller frames use the largest number of scales k that fits
(short side > 10 * 2**(k-1)), with the first k standard weights (finest scales first) rescaled to sum
to 1 (five scales use the standard weights as they are, matching pytorch-msssim exactly); e.g. carphone (176x144) uses 4 scales. Frames with a short side of 10 pixels or less are refused.
"""

from __future__ import annotations

import os
from os import PathLike

import numpy as np

from codec.errors import VideoError
from codec.metrics import (
    PSNR_CAP,
    PlanesLike,
    Quality,
    QualityAccumulator,
    YUVPlanes,
    bpp,
    mse,
    psnr_from_mse,
    psnr_rgb,
    psnr_yuv420,
)

__all__ = [
    "PSNR_CAP",
    "PlanesLike",
    "Quality",
    "QualityAccumulator",
    "YUVPlanes",
    "bpp",
    "mse",
    "psnr_from_mse",
    "psnr_rgb",
    "psnr_yuv420",
    "ms_ssim",
    "ms_ssim_weights",
    "file_bpp",
]

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Standard MS-SSIM scale weights, finest scale first (Wang et al. 2003)."""
WIN_SIZE = 11
_BATCH = 8


def ms_ssim_weights(height: int, width: int) -> tuple[float, ...]:
    """Scale weights used for frames of this size (5 scales when the short side exceeds 160 px)."""
    side = min(height, width)
    levels = max((k for k in range(1, len(MS_SSIM_WEIGHTS) + 1) if side > (WIN_SIZE - 1) * 2 ** (k - 1)), default=0)
    if levels == 0:
        raise VideoError(f"MS-SSIM needs frames larger than {WIN_SIZE - 1} pixels on each side, got {width}x{height}")
    if levels == len(MS_SSIM_WEIGHTS):
        return MS_SSIM_WEIGHTS
    chosen = np.asarray(MS_SSIM_WEIGHTS[:levels], dtype=np.float64)
    return tuple(float(w) for w in chosen / chosen.sum())


def _ms_ssim_batch(x, y, weights: tuple[float, ...]):
    """MS-SSIM of float tensors ``(B, 3, H, W)`` with ``len(weights)`` scales (pytorch-msssim's steps)."""
    import torch
    import torch.nn.functional as F
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    win = _fspecial_gauss_1d(WIN_SIZE, 1.5).repeat([x.shape[1], 1, 1, 1])
    factors = []
    for level in range(len(weights)):
        ssim_per_channel, cs = _ssim(x, y, win=win, data_range=255.0, size_average=False, K=(0.01, 0.03))
        if level < len(weights) - 1:
            factors.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    factors.append(torch.relu(ssim_per_channel))
    stacked = torch.stack(factors, dim=0)  # (levels, B, C)
    w = torch.tensor(weights, dtype=stacked.dtype).view(-1, 1, 1)
    return torch.prod(stacked**w, dim=0).mean(dim=1)


def ms_ssim(ref: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Per-frame MS-SSIM of uint8 RGB frames ``(N, H, W, 3)`` (or one ``(H, W, 3)``), in [0, 1]."""
    import torch

    ref, dec = np.asarray(ref), np.asarray(dec)
    if ref.shape != dec.shape:
        raise VideoError(f"reference {ref.shape} and decoded {dec.shape} frames differ in shape")
    if ref.ndim == 3:
        ref, dec = ref[None], dec[None]
    if ref.ndim != 4 or ref.shape[3] != 3:
        raise VideoError(f"MS-SSIM expects RGB frames (N, H, W, 3), got {ref.shape}")
    weights = ms_ssim_weights(ref.shape[1], ref.shape[2])
    out = []
    with torch.no_grad():
        for i in range(0, len(ref), _BATCH):
            x = torch.from_numpy(np.ascontiguousarray(ref[i : i + _BATCH])).permute(0, 3, 1, 2).float()
            y = torch.from_numpy(np.ascontiguousarray(dec[i : i + _BATCH])).permute(0, 3, 1, 2).float()
            out.append(_ms_ssim_batch(x, y, weights).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def file_bpp(path: str | PathLike[str], width: int, height: int, frames: int) -> float:
    """Bits per pixel of a whole file (every byte counted): ``size * 8 / (width * height * frames)``."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise VideoError(f"cannot read {path}: {exc.strerror or exc}") from None
    return bpp(size, width, height, frames)
