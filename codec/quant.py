"""Quantization in the training loop, with a learned entropy model for the rate term.

Every tensor that goes into the stream (network weights and biases, HNeRV's frame embeddings) is
trained as a float ``w`` with a learned step ``s``; the network always runs on
``w_hat = s * round_ste(w / s)``, so the integers ``round(w / s)`` written to the file are exactly
the ones the network was trained with (straight-through rounding, LSQ-style gradients for the step:
Esser et al., "Learned Step Size Quantization", ICLR 2020). The rate term follows the factorized
prior of Ballé et al. ("Variational image compression with a scale hyperprior", ICLR 2018), via
compressai's ``EntropyBottleneck``: the bits of ``w / s + U(-1/2, 1/2)`` under a learned density,
one density per tensor. That estimate only steers training; the stream's size is what counts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bitstream import QuantizedTensor

with warnings.catch_warnings():  # compressai's import warns about torch.jit.script
    warnings.simplefilter("ignore")
    from compressai.entropy_models import EntropyBottleneck


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
                 post_bits: int | None = None) -> None:
        super().__init__()
        self.post_bits = post_bits
        spread = float(reference.detach().float().std()) if reference.numel() > 1 else 0.0
        if not math.isfinite(spread) or spread <= 0:
            spread = float(reference.detach().abs().max()) or 1e-2
        step = spread * 4.0 / 2.0**init_bits
        self.log_step = nn.Parameter(torch.tensor(math.log(step), dtype=torch.float32))
        # the density starts as wide as the initial integers (2**init_bits levels over +-2 std)
        self.entropy = EntropyBottleneck(1, init_scale=2.0**init_bits / 2)

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

    def bits(self, w: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """Differentiable bit estimate of ``round(w / s)`` under the learned density."""
        if self.post_bits is not None:
            return torch.zeros((), device=w.device)
        y = w / self.step
        if noise:
            y = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            y = round_ste(y)
        likelihood, _, _ = self.entropy._likelihood(y.reshape(1, 1, -1).float())
        return -torch.log2(likelihood.clamp_min(1e-9)).sum()

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
    :func:`torch.func.functional_call`; ``bits(net)`` sums the rate estimates.
    """

    def __init__(self, net: nn.Module, init_bits: float = 8.0, post_bits: int | None = None) -> None:
        super().__init__()
        self.names = [name for name, _ in net.named_parameters()]
        self.quantizers = nn.ModuleList(
            TensorQuantizer(p, init_bits, post_bits) for _, p in net.named_parameters()
        )

    def items(self, net: nn.Module) -> Iterable[tuple[str, torch.Tensor, TensorQuantizer]]:
        params = dict(net.named_parameters())
        for name, q in zip(self.names, self.quantizers):
            yield name, params[name], q

    def quantized_params(self, net: nn.Module) -> dict[str, torch.Tensor]:
        return {name: q.quantize(p) for name, p, q in self.items(net)}

    def bits(self, net: nn.Module, noise: bool = True) -> torch.Tensor:
        return sum((q.bits(p, noise) for _, p, q in self.items(net)), torch.zeros(()))

    def num_values(self, net: nn.Module) -> int:
        return sum(p.numel() for _, p, _ in self.items(net))

    def export(self, net: nn.Module) -> list[QuantizedTensor]:
        return [q.export(p) for _, p, q in self.items(net)]


def load_quantized(net: nn.Module, tensors: list[QuantizedTensor]) -> None:
    """Set ``net``'s parameters to the dequantized stream tensors (decoder side).

    Dequantization is ``codes * step`` in float32, the same product the encoder trained with.
    """
    check_shapes(net, tensors)
    with torch.no_grad():
        for p, t in zip(net.parameters(), tensors):
            p.copy_(torch.from_numpy(dequantize(t)))


def check_shapes(net: nn.Module, tensors: list[QuantizedTensor]) -> None:
    """ValueError unless the stream's tensors have the shapes of ``net``'s parameters, in order
    (``net`` may live on the meta device: nothing is read but shapes)."""
    params = list(net.named_parameters())
    if len(params) != len(tensors):
        raise ValueError(f"stream holds {len(tensors)} tensors, network needs {len(params)}")
    for (name, p), t in zip(params, tensors):
        if tuple(p.shape) != tuple(t.shape):
            raise ValueError(f"tensor {name}: stream shape {t.shape}, network {tuple(p.shape)}")


def dequantize(t: QuantizedTensor) -> np.ndarray:
    """float32 values of a stream tensor, computed like the encoder's ``round(w/s) * s``."""
    return t.dequantize().astype(np.float32)
