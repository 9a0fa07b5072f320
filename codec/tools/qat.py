"""Quantization in the training loop, with a learned entropy model for the rate term.

Every tensor that goes into the stream (network weights and biases, HNeRV's frame embeddings) is
trained as a float ``w`` with a learned step ``s``; the network always runs on
``w_hat = s * round_ste(w / s)``, so the integers ``round(w / s)`` written to the file are exactly
the ones the network was trained with (straight-through rounding, LSQ-style gradients for the step:
Esser et al., "Learned Step Size Quantization", ICLR 2020). The rate term follows the factorized
prior of Ballé et al. ("Variational image compression with a scale hyperprior", ICLR 2018,
:mod:`codec.tools.rate`): the bits of ``w / s + U(-1/2, 1/2)`` under a learned density,
one density per tensor. That estimate only steers training; the stream's size is what counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from bitstream import QuantizedTensor
from bitstream.records.kinds import CHUNK_NETWORK
from bitstream.records.tensorlist import pack_tensors
from codec.tools import rate


def initial_log_step(reference: torch.Tensor, init_bits: float) -> float:
    """log of the step that starts a tensor close to an ``init_bits``-bit uniform quantizer over
    about +-2 standard deviations of ``reference`` (its largest magnitude, or 0.01, where the
    spread is zero or not finite)."""
    ref = reference.detach().float()
    spread = float(ref.std()) if ref.numel() > 1 else 0.0
    if not math.isfinite(spread) or spread <= 0:
        spread = float(ref.abs().max()) or 1e-2
    return math.log(spread * 4.0 / 2.0**init_bits)


def initial_scale(init_bits: float) -> float:
    """A density's initial width: the initial integers' spread (2**init_bits levels over +-2 std)."""
    return 2.0**init_bits / 2


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


@dataclass(frozen=True)
class QuantStats:
    """Estimated bits of the quantized tensors (training-time, not the file size)."""

    bits: float
    num_values: int


class TensorQuantizer(nn.Module):
    """The learned step size and entropy model of one quantized tensor.

    ``init_bits`` sets the initial step from the tensor's spread: ``std * 4 / 2**init_bits``, so
    training starts close to a ``init_bits``-bit uniform quantizer and the rate term moves it.

    ``post_bits`` turns it into the baseline that quantization in training is measured against:
    training sees float weights and no rate term, and :meth:`export` rounds to a symmetric
    ``post_bits``-bit grid over the tensor's range (NeRV's post-hoc 8-bit quantization).
    """

    def __init__(self, reference: torch.Tensor, init_bits: float = 8.0,
                 post_bits: int | None = None, own_density: bool = True) -> None:
        super().__init__()
        self.post_bits = post_bits
        self.log_step = nn.Parameter(torch.tensor(initial_log_step(reference, init_bits), dtype=torch.float32))
        # the density starts as wide as the initial integers (2**init_bits levels over +-2 std);
        # without ``own_density`` the caller models the scaled values (NetworkQuantizer: one
        # density per tensor, all evaluated in one call)
        self.entropy = rate.density(1, init_scale=initial_scale(init_bits)) if own_density else None

    @property
    def step(self) -> torch.Tensor:
        return self.log_step.exp()

    def export_step(self, w: torch.Tensor) -> torch.Tensor:
        """The step the stream stores: the learned one, or the post-training grid's."""
        if self.post_bits is None:
            return self.step.detach()
        absmax = w.detach().abs().max().clamp_min(1e-12)
        return (absmax / (2 ** (self.post_bits - 1) - 1)).float()

    def quantize(self, w: torch.Tensor) -> torch.Tensor:
        """``s * round(w / s)`` with straight-through rounding (what the decoder computes)."""
        if self.post_bits is not None:
            return w
        s = self.step
        return round_ste(w / s) * s

    def codes(self, w: torch.Tensor) -> torch.Tensor:
        """The integers the stream stores."""
        return torch.round(w.detach() / self.export_step(w)).to(torch.int64)

    def scaled(self, w: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """``w / s`` with uniform noise (training) or straight-through rounding: what the rate
        estimate evaluates."""
        y = w / self.step
        return y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else round_ste(y)

    def bits(self, w: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """Differentiable bit estimate of ``round(w / s)`` under the learned density."""
        if self.post_bits is not None:
            return torch.zeros((), device=w.device)
        return rate.bits(self.entropy, self.scaled(w, noise))

    def export(self, w: torch.Tensor) -> QuantizedTensor:
        """The stream record of ``w``: integer codes and the float32 step."""
        codes = self.codes(w).cpu().numpy()
        if np.abs(codes).max(initial=0) >= 2**30:
            raise OverflowError("quantized value out of range: step collapsed during training")
        step = np.array([float(self.export_step(w))], dtype=np.float32)
        return QuantizedTensor(
            shape=tuple(codes.shape), codes=codes.astype(np.int32), scales=step, offset=0.0
        )


class NetworkQuantizer(nn.Module):
    """One :class:`TensorQuantizer` per parameter of a network, in a fixed (stream) order.

    ``quantized_params(net)`` maps parameter names to their quantized values, to be used with
    :func:`torch.func.functional_call`; ``bits(net)`` sums the rate estimates. Each tensor has its
    own learned density, as channels of one model evaluated for all tensors in one tabulated call
    (:func:`codec.tools.rate.tabulated_bits`): one call per tensor cost about 2.7 ms a step on a
    CPU core, 40% of a small hnerv's training step.
    """

    def __init__(self, net: nn.Module, init_bits: float = 8.0, post_bits: int | None = None) -> None:
        super().__init__()
        self.post_bits = post_bits
        self.names = [name for name, _ in net.named_parameters()]
        self.quantizers = nn.ModuleList(
            TensorQuantizer(p, init_bits, post_bits, own_density=False) for _, p in net.named_parameters()
        )
        self.entropy = rate.density(len(self.names), init_scale=initial_scale(init_bits))
        channel = torch.cat([torch.full((p.numel(),), i, dtype=torch.long)
                             for i, (_, p) in enumerate(net.named_parameters())])
        self.register_buffer("channel", channel, persistent=False)

    def items(self, net: nn.Module) -> Iterable[tuple[str, torch.Tensor, TensorQuantizer]]:
        params = dict(net.named_parameters())
        for name, q in zip(self.names, self.quantizers):
            yield name, params[name], q

    def quantized_params(self, net: nn.Module) -> dict[str, torch.Tensor]:
        return {name: q.quantize(p) for name, p, q in self.items(net)}

    def bits(self, net: nn.Module, noise: bool = True) -> torch.Tensor:
        if self.post_bits is not None:
            return torch.zeros((), device=self.channel.device)
        y = torch.cat([q.scaled(p, noise).reshape(-1) for _, p, q in self.items(net)])
        return rate.tabulated_bits(self.entropy, y, self.channel)

    def num_values(self, net: nn.Module) -> int:
        return sum(p.numel() for _, p, _ in self.items(net))

    def export(self, net: nn.Module) -> list[QuantizedTensor]:
        return [q.export(p) for _, p, q in self.items(net)]


class QuantizedNetwork(nn.Module):
    """A decoder network trained through its quantizers (the stream's view of the weights)."""

    def __init__(self, net: nn.Module, post_bits: int | None = None) -> None:
        super().__init__()
        self.net = net
        self.quant = NetworkQuantizer(net, post_bits=post_bits)

    def run(self, *inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(self.net, self.quant.quantized_params(self.net), inputs)

    def bits(self, noise: bool) -> torch.Tensor:
        return self.quant.bits(self.net, noise)

    def network_chunk(self) -> tuple[int, bytes]:
        return CHUNK_NETWORK, pack_tensors(self.quant.export(self.net))
