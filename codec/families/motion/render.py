"""``motion``'s frames rendered in strips of rows (:mod:`codec.tools.tiles`): the frame
:func:`codec.families.motion.net.compose` makes from whole maps (what the encoder decodes its
frames with), bit for bit, with one strip's feature maps alive at a time and each strip's 8-bit
rows written into the frame as it finishes. Nothing here trains.

* A part's rows: the rows of its upsampled latents they need
  (:func:`codec.tools.latentgrid.upsample_rows`), its synthesis as strip operations
  (:meth:`codec.families.grid.net.Synthesis.strip_ops`: 1x1 layers, 3x3 refinement with its halo),
  and for a motion part :func:`~codec.families.motion.net.fields`' upsampling to the frame
  (bilinear by ``2**scale``, a row more of the motion grid on each side), cut and scaling to pixels.
* The prediction's rows: each decoded reference (8 bits) sampled at the strip's grid
  (:func:`~codec.families.motion.net.sampling_grid` on the frame's own rows) by a
  :class:`codec.tools.framesampler.FrameSampler`, which makes float only the reference rows the
  strip's vectors reach; a B frame's blend (:func:`~codec.families.motion.net.prediction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from codec.families.grid.net import Synthesis
from codec.families.motion.config import MotionConfig
from codec.families.motion.net import (
    B_MOTION,
    B_RESIDUAL,
    FLOW_UNIT,
    INTRA,
    P_MOTION,
    P_RESIDUAL,
    PartShape,
    prediction,
    sampling_grid,
)
from codec.tools.framesampler import FrameSampler
from codec.tools.latentgrid import upsample_rows
from codec.tools.tiles import Canvas, Crop, Map, Op, Rows, Strip, Upsample, plan, render_rows


def part_ops(net: Synthesis, part: PartShape, height: int, width: int) -> list[Op]:
    """The operations from a part's upsampled latents to its output on the frame's rows: its
    synthesis, then for a motion part (``part.scale > 0``) :func:`~codec.families.motion.net.fields`
    (bilinear upsampling by ``2**scale``, the frame's rows and columns, times :data:`FLOW_UNIT`);
    every part is cut to the frame, as :func:`~codec.families.motion.net.compose` cuts it."""
    rows, _ = part.grid(height, width)
    if not part.scale:
        return net.strip_ops() + [Crop(height, width, rows)]
    factor = 2**part.scale
    return net.strip_ops() + [Upsample(factor), Crop(height, width, rows * factor), Map(lambda x: x * FLOW_UNIT)]


@dataclass(frozen=True)
class PartRows:
    """A part ready to render: its operations (:func:`part_ops`), its latent levels (integer
    tensors ``(1, h, w)``) and their upsampling factors, and its grid's width."""

    ops: tuple[Op, ...]
    levels: tuple[torch.Tensor, ...]
    factors: tuple[tuple[int, int], ...]
    width: int

    @classmethod
    def of(cls, net: Synthesis, levels: list[torch.Tensor], part: PartShape, height: int, width: int) -> "PartRows":
        return cls(tuple(part_ops(net, part, height, width)), tuple(levels), tuple(part.factors()),
                   part.grid(height, width)[1])

    def rows(self, rows: Rows) -> torch.Tensor:
        """The part's output ``(1, out, rows, W)`` on the frame's ``rows``."""
        def source(need: Rows) -> Strip:
            return Strip(upsample_rows(list(self.levels), list(self.factors), 0, 1, need, self.width), need)

        return render_rows(self.ops, source, rows)


def frame_rows(parts: dict[str, PartRows], references: list[FrameSampler], config: MotionConfig,
               rows: Rows, width: int) -> torch.Tensor:
    """Rows ``rows`` of a frame ``(1, 3, n, W)`` (not clamped): an intra frame's image, or the
    prediction from the references plus the residual (:func:`~codec.families.motion.net.compose`)."""
    if INTRA in parts:
        return parts[INTRA].rows(rows)
    role = P_MOTION if P_MOTION in parts else B_MOTION
    motion = parts[role].rows(rows)
    residual = parts[P_RESIDUAL if role == P_MOTION else B_RESIDUAL].rows(rows)

    def warped(i: int, flow: torch.Tensor) -> torch.Tensor:
        return references[i](sampling_grid(flow, rows.lo, rows.size, width), config.interp_name)

    return prediction(warped, len(references), motion) + residual


def render_frame(parts: dict[str, PartRows], references: list[FrameSampler], config: MotionConfig,
                 height: int, width: int) -> np.ndarray:
    """A frame ``(H, W, 3)`` uint8, strip by strip (:func:`codec.tools.tiles.plan`; a frame of at
    most a strip's pixels in one)."""
    canvas = Canvas(1, height, width)
    for lo, hi in plan(height, width):
        canvas.put(frame_rows(parts, references, config, Rows(lo, hi, height), width), top=lo)
    return canvas.frames[0]
