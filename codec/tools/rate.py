"""The rate model of training: a learned factorized density and the bits of values under it.

The density is the factorized prior of Ballé et al. ("Variational image compression with a scale
hyperprior", ICLR 2018, appendix 6.1): per channel, a small monotone network gives the
cumulative ``c(y)``, and a value's likelihood is ``c(y + 1/2) - c(y - 1/2)``. compressai's
``EntropyBottleneck`` holds its parameters and their initialisation; this module is the one
place in inrv that imports compressai, and it uses the class's public constructor and parameter
lists (``filters``, ``matrices``, ``biases``, ``factors``). The likelihood is evaluated here, on
the values the caller chooses: ``EntropyBottleneck.forward`` adds its own noise or rounds around
its medians (without a straight-through gradient), which is neither the hard-rounding tail of
training nor a table of the density (:func:`tabulated_bits`).

These estimates only steer training; the stream's size is what counts.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

with warnings.catch_warnings():  # compressai's import warns about torch.jit.script
    warnings.simplefilter("ignore")
    from compressai.entropy_models import EntropyBottleneck

__all__ = ["EntropyBottleneck", "density", "bits", "tabulated_bits", "TABLE_POINTS", "LIKELIHOOD_FLOOR"]

#: Likelihoods are floored here before the log (a value far in a tail costs about 30 bits).
LIKELIHOOD_FLOOR = 1e-9
#: Points per channel of the density table of :func:`tabulated_bits`.
TABLE_POINTS = 512


def density(channels: int, init_scale: float) -> EntropyBottleneck:
    """A learned density per channel, initially about as wide as ``init_scale``."""
    return EntropyBottleneck(channels, init_scale=init_scale)


def _cumulative(model: EntropyBottleneck, x: torch.Tensor) -> torch.Tensor:
    """The logits of each channel's cumulative at ``x`` (channels, 1, n): the chain of softplus
    matrices, biases and tanh gates of the factorized prior."""
    stages = len(model.filters)
    for i in range(stages + 1):
        x = torch.matmul(F.softplus(model.matrices[i]), x) + model.biases[i]
        if i < stages:
            x = x + torch.tanh(model.factors[i]) * torch.tanh(x)
    return x


def likelihood(model: EntropyBottleneck, y: torch.Tensor) -> torch.Tensor:
    """``P_c(y)`` of values ``y`` laid out (channels, 1, n) under ``model``: the probability mass
    of the unit bin around each value."""
    lower = _cumulative(model, y - 0.5)
    upper = _cumulative(model, y + 0.5)
    return torch.sigmoid(upper) - torch.sigmoid(lower)


def bits(model: EntropyBottleneck, y: torch.Tensor) -> torch.Tensor:
    """``sum(-log2 P(y))`` of values ``y`` (any shape) under a one-channel ``model``."""
    return -torch.log2(likelihood(model, y.reshape(1, 1, -1).float()).clamp_min(LIKELIHOOD_FLOOR)).sum()


def tabulated_bits(model: EntropyBottleneck, y: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
    """``sum(-log2 P_c(y))`` of values ``y`` (flat) of channels ``channel`` under ``model``.

    Each channel's factorized density is a function of one variable, so it is evaluated on a grid
    of ``TABLE_POINTS`` points spanning that channel's values, once per step for all channels in
    one batched call, and interpolated linearly: the same estimate and gradients as evaluating it
    at every value, at a fraction of the cost (per-value evaluation dominated a training step of
    small networks on CPUs).
    """
    channels, n = model.channels, TABLE_POINTS
    with torch.no_grad():
        lo = torch.zeros(channels, device=y.device).scatter_reduce(0, channel, y, "amin", include_self=False)
        hi = torch.zeros(channels, device=y.device).scatter_reduce(0, channel, y, "amax", include_self=False)
        lo, hi = torch.floor(lo) - 1.0, torch.ceil(hi) + 1.0
    steps = torch.linspace(0.0, 1.0, n, device=y.device)
    grid = lo[:, None] + (hi - lo)[:, None] * steps
    table = -torch.log2(likelihood(model, grid.view(channels, 1, n)).clamp_min(LIKELIHOOD_FLOOR)).view(-1)
    pos = (y - lo[channel]) * ((n - 1) / (hi - lo))[channel]
    i = pos.detach().floor().clamp(0, n - 2)
    frac = pos - i
    flat = i.long() + channel * n
    return (table[flat] * (1 - frac) + table[flat + 1] * frac).sum()
