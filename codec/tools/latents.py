"""Integer latents with learned per-layer decoders, trained as residuals between groups (NIRVANA).

Following NIRVANA (Maiya et al., CVPR 2023), itself after Oktay et al. ("Scalable Model Compression
by Entropy Penalized Reparameterization", ICLR 2020), every stored tensor is an integer latent
``q`` plus a small learned decoder; the network runs on ``w = scale * q + shift``. Here the decoder
is a per-layer scale and shift and, for convolutions with more than one tap, optionally NIRVANA's
per-kernel linear map: every ``kh x kw`` kernel of the latent is multiplied by one learned
``k x k`` matrix (``k = kh * kw``) of its layer, ``w = scale * (M q) + shift``, so that the latents
live in a learned basis of kernel space where they can be cheaper to code (Oktay et al. learn
such maps in place of a fixed DCT). A map is stored as float16 and used as float16 in training
(straight-through), so the encoder trains against exactly the map the decoder reads.

Rounding is straight-through; the rate term is the bits of ``q - q_prev + U(-1/2, 1/2)`` under a
learned factorized density per tensor (:mod:`codec.tools.rate`, Ballé et al., ICLR 2018), where ``q_prev`` is the previous group's latent (zero for the first group): every group
after the first pays, in training, for its *residual*, which is exactly what the stream stores.

Between groups (:meth:`LatentNetwork.next_group`) the decoders are frozen (residuals stay in the
same units; a group record says "unchanged" with one flag bit: :mod:`bitstream.records.nirvana`), the trained parameter becomes the
residual itself, starting at zero, and the rate term switches to a residual density that the
following groups keep refining.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from bitstream.records.nirvana import LayerDecoder, kernel_taps
from bitstream.tensor import MAX_CODE
from codec.tools import rate
from codec.tools.qat import initial_log_step, round_ste
from codec.tools.dequantize import apply_kernel

INTER_INIT_SCALE = 1.0
#: A later group trains each tensor's residual in units of RESIDUAL_SPREAD times the spread
#: (standard deviation) of group 0's codes of that tensor, and never of less than one bin (see
#: LatentTensor.next_group): an optimizer step then moves every tensor's weights by about the same
#: share of their spread whatever the bin size that lambda chose. Measured against a fixed 2.5 bins
#: (400 steps, one thread, 2026-11-26): BD-rate -7% on carphone (120 frames), -41% on bikes (64
#: frames, whose large tensors have 0.3-1 bins of spread at lambda >= 1.5e-2, where 2.5 bins moved
#: them too far per step: later groups cost half the bytes at the same PSNR); 0.25 and 0.5 give
#: fewer bits but PSNR that falls again at small lambdas (the residuals cannot move far enough).
RESIDUAL_SPREAD = 1.0
#: Later groups keep group 0's one-dimensional tensors (the biases): their residuals stay zero and
#: cost a constant-coded record each. Measured (2026-11-26, 400 steps, one thread): BD-rate -3.0%
#: on carphone (120 frames), -1.4% on bikes (64); a 48-frame fade of carphone (brightness 1.0 ->
#: 0.35), which biases could follow, gives the same PSNR either way (27.81 dB at lambda 1.5e-2).
#: Before, the six bias tensors of carphone's network took 4% of the later groups' bytes in
#: records of 20-160 values that the entropy coder codes poorly.
FREEZE_LATER_BIASES = True


def as_stored_kernel(matrix: torch.Tensor) -> torch.Tensor:
    """The map as the stream holds it (float16 values), with straight-through gradients."""
    return matrix + (matrix.to(torch.float16).to(matrix.dtype) - matrix).detach()


class LatentTensor(nn.Module):
    """One stored tensor: integer latent ``q`` and its learned decoder ``w = scale * q + shift``,
    or ``w = scale * (M q) + shift`` with a kernel map ``M`` (``kernel_map`` on a multi-tap conv).

    First group: the parameter is ``u`` (weight units) with ``q = round((u - shift) / scale)``
    (``q = M^-1 (u - shift) / scale`` with a map, so that ``u`` stays the weight before rounding);
    ``scale`` works as a learned step size (LSQ gradients, Esser et al., ICLR 2020), so the rate
    term trades precision for bits directly. Later groups: the decoder is frozen and the parameter
    is the residual itself, ``q = round(q_prev + gain * d)`` with ``d`` starting near 0 and ``gain``
    (fixed at the first :meth:`next_group`) ``RESIDUAL_SPREAD`` times the spread of group 0's codes,
    at least one bin. An optimizer step then moves a latent by a share of its tensor's spread: not
    by a fixed amount of weight (which, for fine bins, flips codes that nothing asked to change),
    and not by a fixed number of bins (too little for fine bins, where later groups could not
    follow the video at high quality settings; too much for tensors whose codes are mostly 0 and
    +-1, where every step flipped codes and later groups cost as much as the first). Biases
    (one-dimensional tensors) keep group 0's codes in later groups (:data:`FREEZE_LATER_BIASES`).
    """

    def __init__(self, reference: torch.Tensor, init_bits: float = 8.0, kernel_map: bool = False) -> None:
        super().__init__()
        ref = reference.detach().float()
        taps = kernel_taps(tuple(ref.shape)) if kernel_map else 0
        # the map starts as the identity: the same network as without one
        self.kernel = nn.Parameter(torch.eye(taps)) if taps else None
        self.latent = nn.Parameter(ref.clone())
        self.log_step = nn.Parameter(torch.tensor(initial_log_step(ref, init_bits)))
        self.shift = nn.Parameter(torch.zeros(()))
        self.delta = nn.Parameter(torch.zeros_like(ref), requires_grad=False)
        self.register_buffer("prev", torch.zeros_like(ref))
        self.register_buffer("gain", torch.ones(()))  # bins per unit of delta (set by next_group)
        self.inter = False

    def continuous(self) -> torch.Tensor:
        """The latent before rounding."""
        if self.inter:
            return self.prev + self.delta * self.gain
        x = (self.latent - self.shift) / self.log_step.exp()
        if self.kernel is None:
            return x
        k = self.kernel.shape[0]
        return torch.linalg.solve(as_stored_kernel(self.kernel), x.reshape(-1, k).T).T.reshape(x.shape)

    def weight(self) -> torch.Tensor:
        """``scale * (M round(...)) + shift`` (straight-through rounding): what the decoder computes."""
        q = round_ste(self.continuous())
        if self.kernel is not None:
            q = apply_kernel(q, as_stored_kernel(self.kernel))
        return q * self.log_step.exp() + self.shift

    def residual(self) -> torch.Tensor:
        """The continuous residual ``q - q_prev`` whose rounding the stream stores."""
        return self.delta * self.gain if self.inter else self.continuous()

    def codes(self) -> torch.Tensor:
        """The integer latent (int64)."""
        return torch.round(self.continuous().detach()).to(torch.int64)

    def decoder(self) -> LayerDecoder:
        """The decoder as the stream stores it (float32 scale and shift, float16 map)."""
        kernel = None if self.kernel is None else self.kernel.detach().cpu().numpy().astype(np.float16)
        return LayerDecoder(float(np.float32(self.log_step.detach().exp())), float(np.float32(self.shift.detach())),
                            kernel)

    @torch.no_grad()
    def next_group(self) -> None:
        """Residuals against the current codes from now on, the decoder frozen. The continuous
        latent carries over (its offset inside the bin included): restarting every latent at its
        bin's centre would make them all cross a bin edge together after the same number of steps.
        The first call also fixes the residual's unit (``gain``) from group 0's codes."""
        continuous = self.continuous()
        codes = torch.round(continuous)
        self.prev.copy_(codes)
        if not self.inter:
            self.inter = True
            self.gain.fill_(RESIDUAL_SPREAD * max(1.0, float(codes.std(unbiased=False))))
            for p in (self.latent, self.log_step, self.shift, self.kernel):
                if p is not None:
                    p.requires_grad_(False)
            self.delta.requires_grad_(self.delta.dim() > 1 or not FREEZE_LATER_BIASES)
        self.delta.copy_((continuous - codes) / self.gain)


class LatentNetwork(nn.Module):
    """A network whose every parameter is a :class:`LatentTensor` (in ``named_parameters`` order,
    the stream's order), with one factorized density per tensor for the first group (``intra``)
    and one per tensor for the residuals of the following groups (``inter``)."""

    def __init__(self, net: nn.Module, init_bits: float = 8.0, kernel_maps: bool = False) -> None:
        super().__init__()
        self.net = net
        params = list(net.named_parameters())
        self.names = [name for name, _ in params]
        self.shapes = [tuple(p.shape) for _, p in params]
        self.tensors = nn.ModuleList(LatentTensor(p, init_bits, kernel_maps) for _, p in params)
        # initial densities as wide as the values they start with (latents spread over about
        # 2**init_bits bins; residuals start at zero), so no value starts in a flat tail
        self.entropy = nn.ModuleDict({
            "intra": rate.density(len(params), init_scale=2.0**init_bits),
            "inter": rate.density(len(params), init_scale=INTER_INIT_SCALE),
        })
        self.entropy["inter"].requires_grad_(False)
        self.residual_coding = False
        sizes = torch.tensor([p.numel() for _, p in params])
        self.register_buffer("channel", torch.repeat_interleave(torch.arange(len(params)), sizes),
                             persistent=False)
        net.requires_grad_(False)  # the network's own parameters are placeholders

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        # weights in float32 even under autocast: the decoder computes them in float32, and a
        # bf16 kernel map product would move every weight by up to 1% of its value
        with torch.autocast(self.channel.device.type, enabled=False):
            weights = {name: t.weight() for name, t in zip(self.names, self.tensors)}
        return functional_call(self.net, weights, inputs)

    def bits(self, noise: bool) -> torch.Tensor:
        """Differentiable bits of every residual ``q - q_prev`` (of ``q`` in the first group)."""
        y = torch.cat([t.residual().reshape(-1) for t in self.tensors])
        y = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else round_ste(y)
        return rate.tabulated_bits(self.entropy["inter" if self.residual_coding else "intra"], y, self.channel)

    def codes(self) -> list[np.ndarray]:
        out = [t.codes().cpu().numpy() for t in self.tensors]
        if any(np.abs(c).max(initial=0) >= MAX_CODE for c in out):
            raise OverflowError("latent out of range: a decoder scale collapsed during training")
        return out

    def decoders(self) -> list[LayerDecoder]:
        return [t.decoder() for t in self.tensors]

    def next_group(self) -> None:
        """Switch to coding the next group as a residual of the current one."""
        for t in self.tensors:
            t.next_group()
        if not self.residual_coding:
            self.residual_coding = True
            self.entropy["intra"].requires_grad_(False)
            self.entropy["inter"].requires_grad_(True)
