"""``grid``'s decoder: latent grids upsampled to the frames and a small synthesis network.

The synthesis follows C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et al., ICCV 2023): 1x1
convolutions (a per-pixel MLP) over the stacked, upsampled latents, then residual blocks of 3x3
convolutions on the RGB output. The latents are a 3-D pyramid upsampled trilinearly (separable, no
parameters): :mod:`codec.tools.latentgrid`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.families.grid.config import GridConfig
from codec.tools.latentgrid import SCHEMES, Pyramid, context_macs, upsample_rows
from codec.tools.tiles import Canvas, Conv, Map, Op, Rows, Strip, Sum, need, plan, render_rows


def pyramid(config: GridConfig) -> Pyramid:
    """The latent pyramid of a group: ``config.levels`` levels, ``config.temporal`` halvings in time."""
    return Pyramid(config.levels, config.temporal)


def level_shapes(config: GridConfig, frames: int, height: int, width: int) -> list[tuple[int, int, int]]:
    """``(frames, height, width)`` of each latent level of a group of ``frames`` frames."""
    return pyramid(config).shapes(height, width, frames)


def level_factors(config: GridConfig) -> list[tuple[int, int]]:
    """``(temporal, spatial)`` upsampling factor of each level: ``(2**min(k, temporal), 2**k)``."""
    return pyramid(config).factors()


class Synthesis(nn.Module):
    """Upsampled latents ``(N, levels, H, W)`` to RGB ``(N, 3, H, W)`` in [0, 1] (clamped by the
    decoder): ``layers`` 1x1 layers of ``hidden`` channels with ReLU, a 1x1 layer to RGB (plus
    0.5), then ``refine`` blocks ``x + conv3(relu(conv3(x)))``. ``config`` is anything with
    ``levels``, ``hidden``, ``layers`` and ``refine``; ``out`` and ``offset`` give other outputs
    than RGB (the motion family's motion fields and residuals: ``offset`` 0)."""

    def __init__(self, config: GridConfig, out: int = 3, offset: float = 0.5) -> None:
        super().__init__()
        self.offset = offset
        widths = [config.levels] + [config.hidden] * config.layers
        self.mlp = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in zip(widths, widths[1:]))
        self.rgb = nn.Conv2d(widths[-1], out, 1)
        self.refine = nn.ModuleList(nn.Conv2d(out, out, 3, padding=1, padding_mode="replicate")
                                    for _ in range(2 * config.refine))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.pixels(z)
        for a, b in zip(self.refine[::2], self.refine[1::2]):
            x = x + b(F.relu(a(x)))
        return x

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """The 1x1 layers and the RGB layer (plus the offset), per pixel: ``(N, levels, H, W)`` to
        ``(N, out, H, W)``."""
        n, _, h, w = z.shape
        # the 1x1 layers as matrix products over channels-last pixels (much faster than 1x1
        # convolutions on a CPU, the same arithmetic)
        x = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        for conv in self.mlp:
            x = F.relu(F.linear(x, conv.weight.flatten(1), conv.bias))
        x = F.linear(x, self.rgb.weight.flatten(1), self.rgb.bias) + self.offset
        return x.reshape(n, h, w, -1).permute(0, 3, 1, 2)

    def strip_ops(self) -> list[Op]:
        """:meth:`forward` as operations over strips of rows (:mod:`codec.tools.tiles`)."""
        return [Map(self.pixels)] + [Sum([], [Conv(a), Map(F.relu), Conv(b)])
                                     for a, b in zip(self.refine[::2], self.refine[1::2])]


def synthesis_shapes(config: GridConfig) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in Synthesis(config).parameters()]


def decoder_macs(config: GridConfig, frames: int, height: int, width: int) -> dict[str, float]:
    """Multiply-adds per decoded pixel, counted from the shapes: the synthesis, the trilinear
    upsampling (8 per level and pixel), and the context networks (per latent, times latents per
    pixel; a checkerboard's two classes weighted by their share)."""
    pixels = frames * height * width
    synth = sum(a.in_channels * a.out_channels * a.kernel_size[0] * a.kernel_size[1]
                for a in Synthesis(config).modules() if isinstance(a, nn.Conv2d))
    latents = sum(math.prod(s) for s in level_shapes(config, frames, height, width))
    context = context_macs(SCHEMES[config.scheme], config.ctx_hidden, config.ctx_layers) * latents / pixels
    upsampling = 8.0 * config.levels
    return {"synthesis": float(synth), "upsampling": upsampling, "context": context,
            "total": synth + upsampling + context, "latents_per_pixel": latents / pixels}


def render(synthesis: Synthesis, levels: list[torch.Tensor], factors: list[tuple[int, int]], frames: int,
           height: int, width: int, first: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames ``first .. stop - 1`` (default all) of a group of ``frames``, ``(n, H, W, 3)`` uint8,
    from its (integer-valued) latent levels. A frame larger than a strip
    (:func:`codec.tools.tiles.plan`) renders strip by strip: the strip's rows of the upsampled
    latents (:func:`codec.tools.latentgrid.upsample_rows`), then the synthesis's operations over
    them (:meth:`Synthesis.strip_ops`: on a whole frame, :meth:`Synthesis.forward`'s arithmetic),
    one frame at a time; the same bits as the whole frame. Encoders measure with it, decoders
    decode with it."""
    stop = frames if stop is None else stop
    canvas = Canvas(stop - first, height, width)
    ops = synthesis.strip_ops()
    with torch.inference_mode():
        for lo, hi in plan(height, width, stop - first):
            rows = Rows(lo, hi, height)
            needed = need(ops, rows)
            z = upsample_rows(levels, factors, first, stop, needed, width)
            canvas.put(torch.cat([render_rows(ops, lambda _: Strip(z[t : t + 1], needed), rows)
                                  for t in range(stop - first)]), top=lo)
    return canvas.frames


def load_synthesis(net: Synthesis, codes: list[np.ndarray], steps: np.ndarray) -> Synthesis:
    """``net`` with weights ``code * step`` in float32 (what training's quantizers computed)."""
    with torch.no_grad():
        for p, c, s in zip(net.parameters(), codes, steps):
            step = torch.tensor(float(s), dtype=torch.float32)
            p.copy_(torch.from_numpy(c.astype(np.float32)).reshape(p.shape) * step)
    return net.eval()
