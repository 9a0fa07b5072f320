"""``motion``'s decoders (nothing here trains): per-frame latent grids and syntheses, motion
compensation of decoded references, and the frame as the prediction plus a residual.

Every decoder of a frame is a *part*: a 2-D latent pyramid (:mod:`codec.tools.latentgrid`), upsampled
and turned into its output by a synthesis of 1x1 layers and 3x3 refinement blocks (grid's
:class:`codec.families.grid.net.Synthesis`, after C3, Kim et al., CVPR 2024, and Cool-chic,
Ladune et al., ICCV 2023). An intra frame has one part (RGB); a P frame a motion part (one field
at a quarter of the resolution, upsampled) and a residual part; a B frame a motion part with two
fields and a blending weight, and a residual part (Cool-chic video's inter frames, Ladune et al.
2024-2025). The prediction warps each decoded reference at its field with a bicubic (or bilinear)
filter, blends the two warped references of a B frame with the weight's sigmoid, and the frame
is ``round(255 * clamp(prediction + residual, 0, 1))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.families.grid.net import Synthesis
from codec.families.motion.config import MotionConfig
from codec.tools.framesampler import from_uint8
from codec.tools.latentgrid import IMAGE_SCHEMES, Pyramid, Scheme, context_macs, upsample
from codec.tools.tiles import pointwise

#: The motion synthesis's output unit, in pixels of the frame.
FLOW_UNIT = 4.0
#: The context scheme of every part's latents: the raster wavefront of 2-D grids.
SCHEME: Scheme = IMAGE_SCHEMES["raster"]

INTRA, P_MOTION, P_RESIDUAL, B_MOTION, B_RESIDUAL = "intra", "p_motion", "p_residual", "b_motion", "b_residual"
#: Every part's role, in the order of the decoder's state.
ROLES = (INTRA, P_MOTION, P_RESIDUAL, B_MOTION, B_RESIDUAL)
#: The parts of a frame of each type, in the order its chunk stores them.
PARTS = {"I": (INTRA,), "P": (P_MOTION, P_RESIDUAL), "B": (B_MOTION, B_RESIDUAL)}


@dataclass(frozen=True)
class PartShape:
    """One part's decoder: ``levels`` latent grids over a grid of ``2**-scale`` of the frame, a
    synthesis (``layers`` 1x1 layers of ``hidden`` channels, ``refine`` 3x3 blocks) to ``out``
    channels plus ``offset``."""

    role: str
    levels: int
    hidden: int
    layers: int
    refine: int
    out: int
    offset: float
    scale: int

    @property
    def pyramid(self) -> Pyramid:
        return Pyramid(self.levels, 0)

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """The part's output size on a frame of ``height x width``."""
        return math.ceil(height / 2**self.scale), math.ceil(width / 2**self.scale)

    def shapes(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """Its latent levels ``(1, h, w)`` (a 2-D pyramid as one frame)."""
        return self.pyramid.shapes(*self.grid(height, width), 1)

    def factors(self) -> list[tuple[int, int]]:
        return self.pyramid.factors()


def part_shape(config: MotionConfig, role: str) -> PartShape:
    """The decoder of ``role`` in streams of ``config``."""
    if role in (P_MOTION, B_MOTION):
        return PartShape(role, config.motion_levels, config.motion_hidden, config.layers, 0,
                         2 if role == P_MOTION else 5, 0.0, config.motion_scale)
    if role == INTRA:
        return PartShape(role, config.levels, config.hidden, config.layers, config.refine, 3, 0.5, 0)
    return PartShape(role, config.levels, config.residual_hidden, config.layers, config.refine, 3, 0.0, 0)


def part_net(part: PartShape) -> Synthesis:
    return Synthesis(part, out=part.out, offset=part.offset)


def synthesis_shapes(part: PartShape) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in part_net(part).parameters()]


def part_output(net: Synthesis, latents: list[torch.Tensor], part: PartShape, height: int, width: int) -> torch.Tensor:
    """The part's output ``(1, out, h, w)`` from its latent levels (float or integer tensors)."""
    h, w = part.grid(height, width)
    z = upsample([y.float() for y in latents], part.factors(), 1, h, w)
    return net(z)


def fields(motion: torch.Tensor, part: PartShape, height: int, width: int) -> torch.Tensor:
    """A motion part's output ``(1, C, h, w)`` at the frame's resolution ``(1, C, H, W)``: the
    motion fields in pixels (bilinear upsampling of the fields, times :data:`FLOW_UNIT`), and a
    B frame's blending weight (upsampled the same way)."""
    if part.scale:
        motion = F.interpolate(motion, scale_factor=2**part.scale, mode="bilinear", align_corners=False)
    return motion[:, :, :height, :width] * FLOW_UNIT


def sampling_grid(flow: torch.Tensor, top: int, height: int, width: int) -> torch.Tensor:
    """``grid_sample``'s grid ``(1, h, W, 2)`` for the field ``flow`` ``(1, 2, h, W)`` (x then y, in
    pixels) on rows ``top .. top + h - 1`` of a ``height x width`` frame: each pixel's position plus
    its vector, normalized to the frame (half-pixel centres)."""
    rows, cols = flow.shape[-2:]
    xs = torch.arange(cols, dtype=flow.dtype, device=flow.device)
    ys = torch.arange(top, top + rows, dtype=flow.dtype, device=flow.device)
    gx = (2.0 * (xs[None, :] + flow[0, 0]) + 1.0) / width - 1.0
    gy = (2.0 * (ys[:, None] + flow[0, 1]) + 1.0) / height - 1.0
    return torch.stack([gx, gy], dim=-1)[None]


def warp(reference: torch.Tensor, flow: torch.Tensor, interp: str) -> torch.Tensor:
    """``reference`` ``(1, 3, H, W)`` sampled at every pixel plus ``flow`` ``(1, 2, H, W)`` (x then
    y, in pixels), with ``interp`` ("bicubic": Keys' cubic, 16 taps; "bilinear"), the frame's
    edge repeated outside it."""
    _, _, height, width = reference.shape
    return F.grid_sample(reference, sampling_grid(flow, 0, height, width), mode=interp, padding_mode="border",
                         align_corners=False)


def blend_weight(logit: torch.Tensor) -> torch.Tensor:
    """A B frame's blending weight ``sigmoid(logit)``. Where no gradient is needed (the frame a
    decoder gives, and the one the encoder decodes), every value goes through torch's vectorized
    code (:func:`codec.tools.tiles.pointwise`), so that a strip of the frame has the whole frame's
    bits; training keeps ``torch.sigmoid`` (``pointwise`` writes into its result, which autograd
    refuses), which may differ in the last bit of a map's last few values."""
    return torch.sigmoid(logit) if logit.requires_grad else pointwise(torch.sigmoid, logit)


def prediction(warped: Callable[[int, torch.Tensor], torch.Tensor], references: int,
               motion: torch.Tensor) -> torch.Tensor:
    """The prediction from the motion ``(1, 2 | 5, h, w)`` in pixels and ``warped(i, flow)``
    (reference ``i`` sampled at the field ``flow``): the reference warped, or a B frame's blend of
    its two references warped."""
    first = warped(0, motion[:, 0:2])
    if references == 1:
        return first
    weight = blend_weight(motion[:, 4:5] / FLOW_UNIT)
    return weight * first + (1.0 - weight) * warped(1, motion[:, 2:4])


def predict(references: list[torch.Tensor], motion: torch.Tensor, interp: str) -> torch.Tensor:
    """The prediction ``(1, 3, H, W)`` from the decoded references (float, in [0, 1]) and the
    motion ``(1, 2, H, W)`` (one reference) or ``(1, 5, H, W)`` (two fields and a blending weight)."""
    return prediction(lambda i, flow: warp(references[i], flow, interp), len(references), motion)


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` in [0, 1] (clamped) to ``(H, W, 3)`` uint8, rounded."""
    return frame.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()


def compose(parts: dict[str, torch.Tensor], references: list[torch.Tensor], config: MotionConfig,
            height: int, width: int) -> torch.Tensor:
    """A frame ``(1, 3, H, W)`` (not clamped) from its parts' outputs: an intra frame's image, or
    the prediction from the references plus the residual."""
    if INTRA in parts:
        return parts[INTRA][:, :, :height, :width]
    role = P_MOTION if P_MOTION in parts else B_MOTION
    motion = fields(parts[role], part_shape(config, role), height, width)
    residual = parts[P_RESIDUAL if role == P_MOTION else B_RESIDUAL]
    return predict(references, motion, config.interp_name) + residual


def decoder_macs(config: MotionConfig, height: int, width: int) -> dict[str, float]:
    """Multiply-adds per decoded pixel of each frame type, counted from the shapes: syntheses
    (a motion part's per pixel of its grid, scaled to the frame), upsampling (4 per level and
    pixel), context models (per latent, times latents per pixel), warping (16 taps per sample and
    reference with bicubic, 4 with bilinear, three channels) and blending."""
    pixels = height * width
    out: dict[str, float] = {}
    taps = 16 if config.interp_name == "bicubic" else 4
    for letter, roles in PARTS.items():
        total = 0.0
        for role in roles:
            part = part_shape(config, role)
            net = part_net(part)
            synth = sum(m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                        for m in net.modules() if isinstance(m, nn.Conv2d))
            share = math.prod(part.grid(height, width)) / pixels
            latents = sum(math.prod(s) for s in part.shapes(height, width))
            total += (synth + 4.0 * part.levels) * share + context_macs(SCHEME, config.ctx_hidden,
                                                                        config.ctx_layers) * latents / pixels
        refs = {"I": 0, "P": 1, "B": 2}[letter]
        total += refs * 3 * taps + (6 if refs == 2 else 3 if refs else 0)
        out[letter] = total
    return out
