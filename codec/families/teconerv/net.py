"""The hyponetwork of ``teconerv``: a NeRV-style network that renders one tubelet from time alone,
its layers modulated per tubelet (TeCoNeRV, Padmanabhan et al., 2026, after Trans-INR's weight
tokens).

Input: the tubelet's ``frames`` time coordinates ``t in [-1, 1]``, a sin/cos encoding of
``pe_freqs`` log-spaced frequencies -> a linear stem to a ``c0 x bh x bw`` map -> one stage per
stride (conv 3x3 -> PixelShuffle -> GELU) -> a shared 3x3 head -> ``tanh * 0.5 + 0.5``.

Modulation: layer ``i`` holds a base weight ``B_i`` (out x row, ``row`` = inputs per output), a
gain and a bias, all shared by every video. A tubelet brings ``tokens[i]`` modulation vectors
``m`` (``tokens[i] x row``); output row ``r`` uses vector ``r mod tokens[i]``, and the layer's
weight is ``gain * normalize(B_i * (1 + m))`` over each row. Layers with no tokens (and the head)
use ``gain * normalize(B_i)``. Only ``m`` travels in the stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

KERNEL = 3


@dataclass(frozen=True)
class HypoSpec:
    """Architecture of the hyponetwork (stored in the weights file, not the stream)."""

    frames: int = 8
    height: int = 64
    width: int = 64
    pe_freqs: int = 8
    c0: int = 32
    channels: tuple[int, ...] = (32, 24, 16, 8)
    strides: tuple[int, ...] = (2, 2, 2, 2)
    #: modulation vectors of the stem, then of each stage (the head has none)
    tokens: tuple[int, ...] = (8, 4, 2, 0, 0)

    def __post_init__(self) -> None:
        up = math.prod(self.strides)
        if not (1 <= self.frames <= 64 and 8 <= self.height <= 1024 and 8 <= self.width <= 1024):
            raise ValueError("teconerv tubelet size out of range")
        if self.height % up or self.width % up:
            raise ValueError("teconerv tubelet sides must be multiples of the stride product")
        if len(self.channels) != len(self.strides) or len(self.tokens) != len(self.strides) + 1:
            raise ValueError("teconerv: one channel count per stride, one token count per layer but the head")
        for n, out in zip(self.tokens, self.outputs):
            if n < 0 or (n and out % n):
                raise ValueError("teconerv: a layer's token count must divide its outputs")

    @property
    def base(self) -> tuple[int, int]:
        up = math.prod(self.strides)
        return self.height // up, self.width // up

    @property
    def outputs(self) -> tuple[int, ...]:
        """Output rows of the stem and of each stage's convolution."""
        bh, bw = self.base
        return (self.c0 * bh * bw,) + tuple(c * s * s for c, s in zip(self.channels, self.strides))

    @property
    def rows(self) -> tuple[int, ...]:
        """Inputs per output row of the stem and of each stage."""
        ins = (self.c0,) + self.channels[:-1]
        return (2 * self.pe_freqs,) + tuple(c * KERNEL * KERNEL for c in ins)

    @property
    def modulated(self) -> tuple[int, ...]:
        """Indices of the layers that take modulation vectors."""
        return tuple(i for i, n in enumerate(self.tokens) if n)

    @property
    def mod_shapes(self) -> tuple[tuple[int, int], ...]:
        """``(tokens, row)`` of each modulated layer: what one tubelet sends."""
        return tuple((self.tokens[i], self.rows[i]) for i in self.modulated)

    @property
    def values_per_tubelet(self) -> int:
        return sum(n * r for n, r in self.mod_shapes)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "HypoSpec":
        return cls(**{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in d.items()})


def time_coords(frames: int) -> torch.Tensor:
    """The ``frames`` time coordinates of a tubelet, evenly spaced over [-1, 1]."""
    return torch.linspace(-1.0, 1.0, frames) if frames > 1 else torch.zeros(1)


class HypoNet(nn.Module):
    """The shared base of every tubelet's network; :meth:`forward` renders a batch of tubelets,
    each with its own modulation vectors."""

    def __init__(self, spec: HypoSpec) -> None:
        super().__init__()
        self.spec = spec
        outs = spec.outputs + (3,)
        rows = spec.rows + (spec.channels[-1] * KERNEL * KERNEL,)
        # base entries of the size a unit row has (1 / sqrt(row)), so that Adam's steps move them
        # as much as the gains; the head starts near zero output (mid grey) instead of noise
        self.weight = nn.ParameterList(nn.Parameter(torch.randn(o, r) / math.sqrt(r)) for o, r in zip(outs, rows))
        self.gain = nn.ParameterList(nn.Parameter(torch.full((o,), 0.1 if o == 3 else 1.0)) for o in outs)
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o in outs)
        freqs = math.pi * torch.logspace(0, math.log10(2.0 ** (spec.frames // 2)), spec.pe_freqs)
        self.register_buffer("freqs", freqs, persistent=False)

    def layer_weight(self, i: int, mod: torch.Tensor | None, batch: int) -> torch.Tensor:
        """(batch, out, row) weights of layer ``i`` for modulation ``mod`` (batch, n, row)."""
        base = self.weight[i]
        w = base.unsqueeze(0) if mod is None else base * (1 + mod.repeat(1, base.shape[0] // mod.shape[1], 1))
        w = F.normalize(w, dim=-1) * self.gain[i][:, None]
        return w.expand(batch, -1, -1)

    def weights(self, mods: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every modulated layer's weights (what the coherence penalty compares)."""
        batch = mods[0].shape[0]
        return [self.layer_weight(i, m, batch) for i, m in zip(self.spec.modulated, mods)]

    def forward(self, mods: list[torch.Tensor], frames: int | None = None, first: int = 0,
                stop: int | None = None) -> torch.Tensor:
        """``mods``: one (B, n, row) tensor per modulated layer -> (B, T, 3, H, W) in [0, 1], the
        first ``frames`` (default all) of the tubelet's time coordinates; ``first``, ``stop``: only
        frames ``first .. stop - 1`` of those, the stem run on all of them and the stages on those
        only (a decoder rendering some frames of a segment: a frame's pixels do not depend on the
        other frames, and its arithmetic is the same as in a whole render where the stages'
        convolutions take the same kernel: a grouped one, or a batch of several frames)."""
        spec = self.spec
        batch = mods[0].shape[0]
        per_layer: list[torch.Tensor | None] = [None] * (len(spec.strides) + 2)
        for i, m in zip(spec.modulated, mods):
            per_layer[i] = m
        t = time_coords(spec.frames).to(self.freqs.device)[: frames or spec.frames]
        pe = torch.cat([torch.sin(t[:, None] * self.freqs), torch.cos(t[:, None] * self.freqs)], dim=1)
        n_t = len(t)
        w0 = self.layer_weight(0, per_layer[0], batch)
        x = F.gelu(torch.einsum("bor,tr->tbo", w0, pe) + self.bias[0])
        bh, bw = spec.base
        x = x.reshape(n_t, batch * spec.c0, bh, bw)
        stop = n_t if stop is None else stop
        if not 0 <= first < stop <= n_t:
            raise ValueError(f"frames {first}..{stop - 1} of a tubelet of {n_t}")
        if (first, stop) != (0, n_t):
            x, n_t = x[first:stop], stop - first
        for s, stride in enumerate(spec.strides):
            i = s + 1
            w = self.layer_weight(i, per_layer[i], batch)
            out = w.shape[1]
            w = w.reshape(batch * out, -1, KERNEL, KERNEL)
            x = F.conv2d(x, w, self.bias[i].repeat(batch), padding=KERNEL // 2, groups=batch)
            h, wd = x.shape[-2:]
            x = F.pixel_shuffle(x.reshape(n_t * batch, out, h, wd), stride)
            x = F.gelu(x).reshape(n_t, -1, h * stride, wd * stride)
        head = self.layer_weight(len(spec.strides) + 1, None, 1)[0].reshape(3, -1, KERNEL, KERNEL)
        h, wd = x.shape[-2:]
        x = F.conv2d(x.reshape(n_t * batch, -1, h, wd), head, self.bias[-1], padding=KERNEL // 2)
        x = torch.tanh(x) * 0.5 + 0.5
        return x.reshape(n_t, batch, 3, h, wd).transpose(0, 1)
