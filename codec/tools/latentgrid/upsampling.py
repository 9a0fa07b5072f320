"""The decoder's upsampling of a latent pyramid to the frame: every level interpolated (trilinear
for 3-D levels, half-pixel centres, edges clamped; no parameters) and stacked as channels, as in
C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et al., ICCV 2023), which learn nothing here
either. A 2-D level is upsampled as a 3-D level of one frame (factor 1 in time: the same
arithmetic). Training upsamples crops of the same samples: :mod:`codec.tools.latentgrid.crops`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from codec.tools.tiles import Rows, upsampled_need


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


def upsample_rows(levels: list[torch.Tensor], factors: list[tuple[int, int]], first: int, stop: int, rows: Rows,
                  width: int) -> torch.Tensor:
    """Frames ``first .. stop - 1`` and rows ``rows`` of :func:`upsample`'s ``(frames, levels,
    height, width)`` (float32; the levels may be integers), bit for bit, from the slices of the
    levels they read: what a strip of a frame needs (:mod:`codec.tools.tiles`), in memory of the
    strip's size. torch's trilinear kernel is called with the levels' own scale factors and an
    output cut after the last sample needed, so that every sample's source position and weights
    are the whole level's (its factors are powers of two); a dimension whose output would be as
    long as its input is made one longer, since torch copies such a dimension instead of
    interpolating it (as it does, and must, for a factor of one)."""
    out = []
    for y, (ft, fs) in zip(levels, factors):
        if ft == fs == 1:
            out.append(y[first:stop, rows.lo : rows.hi, :width].float())
            continue
        tk, hk, wk = y.shape
        t = Rows(first, stop, tk) if ft == 1 else upsampled_need(Rows(first, stop, tk * ft), ft, tk)
        r = upsampled_need(Rows(rows.lo, rows.hi, hk * fs), fs, hk)
        size = [stop - t.lo * ft, rows.hi - r.lo * fs, wk * fs]
        size[0] += ft > 1 and size[0] == t.hi - t.lo
        size[1] += size[1] == r.hi - r.lo
        sub = y[t.lo : t.hi, r.lo : r.hi].float()[None, None].contiguous()
        up = torch.ops.aten.upsample_trilinear3d.default(sub, size, False, float(ft), float(fs), float(fs))[0, 0]
        out.append(up[first - t.lo * ft : stop - t.lo * ft, rows.lo - r.lo * fs : rows.hi - r.lo * fs, :width])
    return torch.stack(out, dim=1)
