"""Training side of latent grids (imported by encoders only): the quantization proxy, the rate
under the context model, and the trainable latents of a pyramid.

Quantization in training follows C3 (Kim et al., CVPR 2024), after Agustsson and Theis
("Universally quantized neural compression", NeurIPS 2020): with a temperature, the synthesis sees
``s(s(y) + u)`` (``s``: :func:`soft_round`, ``u``: uniform noise in ``[-1/2, 1/2)``) and the rate
is that of ``s(y) + u``; without one, both are the rounded latents (straight-through). The rate is
the discretized Laplace of :func:`laplace_bits` with the mean and scale that :class:`ContextNet`,
the float mirror of :class:`codec.tools.latentgrid.context.IntegerContext`, predicts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.tools.latentgrid.context import LOG_SCALE_MAX, LOG_SCALE_MIN, Q, WEIGHT_SHIFT
from codec.tools.latentgrid.schemes import PAD, Scheme
from codec.tools.qat import round_ste

LN2 = math.log(2.0)


def soft_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft rounding (Agustsson and Theis 2020): ``round(x)`` as the temperature goes to 0,
    identity as it grows, differentiable everywhere."""
    m = torch.floor(x) + 0.5
    return m + torch.tanh((x - m) / temperature) / (2.0 * math.tanh(0.5 / temperature))


def quantize_proxy(y: torch.Tensor, temperature: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(seen, coded)``: what the synthesis sees and what the rate counts of latents ``y``.
    ``temperature`` None: both the rounded latents (straight-through); else ``s(s(y) + u)`` and
    ``s(y) + u`` (draws ``u`` from torch's generator)."""
    if temperature is None:
        seen = coded = round_ste(y)
    else:
        coded = soft_round(y, temperature) + torch.empty_like(y).uniform_(-0.5, 0.5)
        seen = soft_round(coded, temperature)
    return seen, coded


def laplace_bits(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Total bits of ``x`` under discretized Laplace distributions (unit bins around integers),
    stable in the tails (log-space there)."""
    b = log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX).exp()
    a = (x - mean).abs()
    far_a = a.clamp_min(0.5)
    far = 1.0 + (far_a - 0.5) / (b * LN2) - torch.log2(-torch.expm1(-1.0 / b))
    near_a = a.clamp_max(0.5)
    near = -torch.log2((1.0 - torch.exp(-0.5 / b) * torch.cosh(near_a / b)).clamp_min(2.0**-24))
    return torch.where(a >= 0.5, far, near).sum()


class ContextNet(nn.Module):
    """The context networks under training: one MLP per neighbourhood class of ``scheme``
    (``layers`` hidden layers of ``hidden`` units; and, with ``levels``, an offset of its outputs
    per latent level), its weights rounded to ``2**-WEIGHT_SHIFT`` in the forward pass
    (straight-through), the float mirror of :class:`codec.tools.latentgrid.context.IntegerContext`."""

    def __init__(self, scheme: Scheme, hidden: int, layers: int, levels: int = 0) -> None:
        super().__init__()
        self.scheme = scheme
        self.nets = nn.ModuleList()
        for offsets in self.scheme.classes:
            widths = [len(offsets)] + [hidden] * layers + [2]
            mlp = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
            with torch.no_grad():
                mlp[-1].weight.mul_(0.1)
                mlp[-1].bias.zero_()
            self.nets.append(mlp)
        self.level_bias = nn.Parameter(torch.zeros(levels, 2)) if levels else None

    def forward(self, cls: int, features: torch.Tensor, level: int | torch.Tensor = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log-scale)`` of latents of ``level`` with neighbour ``features`` (n, K);
        ``level`` a tensor: each row's level (latents of several levels in one call)."""
        h = features
        layers = self.nets[cls]
        unit = 2.0**WEIGHT_SHIFT
        for i, lin in enumerate(layers):
            bias = lin.bias
            rows = None
            if i == len(layers) - 1 and self.level_bias is not None:
                if isinstance(level, torch.Tensor):
                    rows = round_ste(self.level_bias * unit)[level]
                else:
                    bias = bias + round_ste(self.level_bias[level] * unit) / unit
            h = F.linear(h, round_ste(lin.weight * unit) / unit, round_ste(bias * unit) / unit)
            if rows is not None:
                h = h + rows / unit
            if i < len(layers) - 1:
                h = F.relu(h)
        return h[:, 0], h[:, 1]

    def codes(self) -> list[np.ndarray]:
        """The integer codes the stream holds, in its tensor order
        (:func:`codec.tools.latentgrid.context.context_shapes`)."""
        params = [p for layers in self.nets for lin in layers for p in (lin.weight, lin.bias)]
        if self.level_bias is not None:
            params.append(self.level_bias)
        return [torch.round(p.detach() * 2.0**WEIGHT_SHIFT).to(torch.int64).cpu().numpy() for p in params]


def region_bits(q: torch.Tensor, inner: tuple[int, int, int, int, int, int], origin: tuple[int, int, int],
                context: ContextNet, level: int = 0) -> torch.Tensor:
    """Bits of the latents ``q[u0:u1, r0:r1, c0:c1]`` (``inner``) of a slice ``q`` of level
    ``level``'s grid starting at ``origin`` (grid, row, column) of the level, under the context
    model; the slice holds real neighbours at least :data:`PAD` latents beyond the inner part
    except at the level's edges (zeros there, as for the decoder)."""
    u0, u1, r0, r1, c0, c1 = inner
    padded = F.pad(q, (PAD,) * 6)
    _, classes = context.scheme.passes((u1 - u0, r1 - r0, c1 - c0), (origin[0] + u0, origin[1] + r0, origin[2] + c0))
    classes = torch.from_numpy(classes.reshape(-1)).to(q.device)
    flat = q[u0:u1, r0:r1, c0:c1].reshape(-1)
    total = q.new_zeros(())
    for c, offsets in enumerate(context.scheme.classes):
        mask = classes == c
        feats = torch.stack([padded[PAD + u0 + dt : PAD + u1 + dt, PAD + r0 + dy : PAD + r1 + dy,
                                    PAD + c0 + dx : PAD + c1 + dx] for dt, dy, dx in offsets],
                            dim=-1).reshape(-1, len(offsets))
        mean, log_scale = context(c, feats[mask], level)
        total = total + laplace_bits(flat[mask], mean, log_scale)
    return total


def level_bits(q: torch.Tensor, context: ContextNet, level: int = 0) -> torch.Tensor:
    """Bits of a whole level ``q`` ((T, H, W), or (H, W): one frame) under the context model."""
    if q.dim() == 2:
        q = q[None]
    return region_bits(q, (0, q.shape[0], 0, q.shape[1], 0, q.shape[2]), (0, 0, 0), context, level)


class LatentStack(nn.ParameterList):
    """The trainable latents of a pyramid: one float parameter per level (of
    :meth:`codec.tools.latentgrid.pyramid.Pyramid.shapes`), integers in ``[-Q, Q]`` once rounded
    (:meth:`codes`); in training they pass through :func:`quantize_proxy`."""

    @classmethod
    def start(cls, shapes: list[tuple[int, ...]], device: torch.device,
              previous: "LatentStack | None" = None) -> "LatentStack":
        """Latents of ``shapes``: zeros, or with ``previous`` (of the same levels) a warm start from
        it: a 3-D level's every grid is ``previous``'s last grid of that level (the frames nearest
        the new ones), a 2-D level is ``previous``'s as it is."""
        old = [p.detach() for p in previous] if previous is not None else []
        return cls(nn.Parameter(old[k][-1:].expand(s).clone() if old and len(s) == 3
                                else old[k].clone() if old else torch.zeros(s, device=device))
                   for k, s in enumerate(shapes))

    def clamp_(self) -> None:
        """Keeps every latent within ``[-Q, Q]`` (after an optimizer step)."""
        with torch.no_grad():
            for y in self:
                y.clamp_(-Q, Q)

    def codes(self) -> list[np.ndarray]:
        """The rounded latents (int64), what the stream codes."""
        return [torch.round(y.detach()).clamp(-Q, Q).to(torch.int64).cpu().numpy() for y in self]


class PyramidRate:
    """The bits of every level of a pyramid under the context model in one pass, for latents held
    as one flat vector (the levels' ``(T, H, W)`` grids one after the other): each class's rows,
    their neighbours' positions in the vector (the level's zero padding as a position past its
    end) and their levels are gathered once, so a step costs one gather, one network call and one
    Laplace evaluation per class instead of that per level. The same figure as
    :func:`level_bits` summed over the levels (up to float sums)."""

    def __init__(self, shapes: list[tuple[int, int, int]], scheme: Scheme, device: torch.device) -> None:
        self.scheme, self.size = scheme, sum(math.prod(s) for s in shapes)
        rows: list[list[np.ndarray]] = [[] for _ in scheme.classes]
        near: list[list[np.ndarray]] = [[] for _ in scheme.classes]
        levels: list[list[np.ndarray]] = [[] for _ in scheme.classes]
        start = 0
        for k, shape in enumerate(shapes):
            frames, height, width = shape
            t, y, x = np.meshgrid(np.arange(frames), np.arange(height), np.arange(width), indexing="ij")
            _, classes = scheme.passes(shape)
            for c, offsets in enumerate(scheme.classes):
                mask = classes == c
                if not mask.any():
                    continue
                tc, yc, xc = t[mask], y[mask], x[mask]
                rows[c].append(start + (tc * height + yc) * width + xc)
                cols = []
                for dt, dy, dx in offsets:
                    nt, ny, nx = tc + dt, yc + dy, xc + dx
                    inside = (nt >= 0) & (nt < frames) & (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
                    cols.append(np.where(inside, start + (nt * height + ny) * width + nx, self.size))
                near[c].append(np.stack(cols, axis=1) if cols else np.zeros((int(mask.sum()), 0), np.int64))
                levels[c].append(np.full(int(mask.sum()), k))
            start += frames * height * width
        as_tensor = lambda parts: torch.from_numpy(np.concatenate(parts)).long().to(device)  # noqa: E731
        self.classes = [(c, as_tensor(rows[c]), as_tensor(near[c]), as_tensor(levels[c]))
                        for c in range(len(scheme.classes)) if rows[c]]

    def bits(self, q: torch.Tensor, context: ContextNet) -> torch.Tensor:
        """Bits of the flat latents ``q`` (quantized, or their training proxy)."""
        padded = torch.cat([q, q.new_zeros(1)])
        total = q.new_zeros(())
        for c, rows, near, levels in self.classes:
            features = padded.index_select(0, near.reshape(-1)).view(near.shape)  # backward: index_add
            mean, log_scale = context(c, features, levels if context.level_bias is not None else 0)
            total = total + laplace_bits(q.index_select(0, rows), mean, log_scale)
        return total
