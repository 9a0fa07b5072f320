"""The decoder's upsampling of a latent pyramid to the frame: every level interpolated (trilinear
for 3-D levels, half-pixel centres, edges clamped; no parameters) and stacked as channels, as in
C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et al., ICCV 2023), which learn nothing here
either. A 2-D level is upsampled as a 3-D level of one frame (factor 1 in time: the same
arithmetic). Training upsamples crops of the same samples: :mod:`codec.tools.latentgrid.crops`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample_level(y: torch.Tensor, factor: tuple[int, int]) -> torch.Tensor:
    """One latent grid ``(t, h, w)`` upsampled trilinearly by ``factor`` (half-pixel centres, edges
    clamped: ``torch.nn.functional.interpolate`` with ``scale_factor``)."""
    ft, fs = factor
    if ft == fs == 1:
        return y
    return F.interpolate(y[None, None], scale_factor=(ft, fs, fs), mode="trilinear", align_corners=False)[0, 0]


def upsample(levels: list[torch.Tensor], factors: list[tuple[int, int]], frames: int, height: int,
             width: int) -> torch.Tensor:
    """The latent levels upsampled by their factors and cut to ``(frames, levels, height, width)``
    (a level's grid covers at least the frames: its sides are rounded up)."""
    return torch.stack([upsample_level(y, f)[:frames, :height, :width] for y, f in zip(levels, factors)], dim=1)


def upsample_image(levels: list[torch.Tensor], factors: list[tuple[int, int]], height: int,
                   width: int) -> torch.Tensor:
    """A 2-D pyramid's levels ``(h, w)`` upsampled and cut to ``(levels, height, width)``: the
    3-D :func:`upsample` of one frame (``factors`` as :meth:`Pyramid.factors` gives them, ``(1, 2**k)``)."""
    return upsample([y[None] for y in levels], factors, 1, height, width)[0]
