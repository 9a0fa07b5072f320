"""Integer latents with learned per-layer decoders, coded as residuals between groups (NIRVANA).

Following NIRVANA (Maiya et al., CVPR 2023), itself after Oktay et al. ("Scalable Model Compression
by Entropy Penalized Reparameterization", ICLR 2020), every stored tensor is an integer latent
``q`` plus a small learned decoder; the network runs on ``w = scale * q + shift``. Here the decoder
is a per-layer scale and shift (the per-kernel linear map NIRVANA uses for convs is not
implemented: a scale/shift per layer costs 8 bytes and was enough in our measurements).

Training keeps a float latent ``u`` (in weight units, so Adam's step sizes mean the same as for
plain weights) and ``q = round(u / bin)`` with straight-through rounding; ``bin`` is fixed when the
tensor is created, the learned ``scale`` decides how much weight one integer is worth. The rate term
is the bits of ``q - q_prev + U(-1/2, 1/2)`` under a learned factorized density (compressai's
``EntropyBottleneck``, Ballé et al., ICLR 2018), where ``q_prev`` is the previous group's latent
(zero for the first group): for every group after the first, training pays for the *residual*,
which is exactly what the stream stores.

Between groups (:meth:`LatentTensor.next_group`) the latent restarts at the centre of the previous
group's bin (so small updates do not flip codes), decoders are frozen (the residuals stay in the
same units; the chunk records that nothing changed with one flag byte), and the rate term switches
to a residual density that the following groups keep refining.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from bitstream import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import read_ints, write_ints
from codec.quant import round_ste

with warnings.catch_warnings():  # compressai's import warns about torch.jit.script
    warnings.simplefilter("ignore")
    from compressai.entropy_models import EntropyBottleneck

#: Codes of a tensor must stay within this magnitude (an encoder guard and a decoder check).
MAX_CODE = 2**30
FLAG_DECODERS = 1


class LatentTensor(nn.Module):
    """One stored tensor: latent ``u``, fixed ``bin``, learned decoder ``(scale, shift)``."""

    def __init__(self, reference: torch.Tensor, init_bits: float = 8.0) -> None:
        super().__init__()
        ref = reference.detach().float()
        spread = float(ref.std()) if ref.numel() > 1 else 0.0
        if not math.isfinite(spread) or spread <= 0:
            spread = float(ref.abs().max()) or 1e-2
        bin_ = spread * 4.0 / 2.0**init_bits
        self.register_buffer("bin", torch.tensor(bin_))
        self.latent = nn.Parameter(ref.clone())
        self.log_scale = nn.Parameter(torch.tensor(math.log(bin_)))
        self.shift = nn.Parameter(torch.zeros(()))
        self.register_buffer("prev", torch.zeros_like(ref))
        self.intra = EntropyBottleneck(1)
        self.residual: EntropyBottleneck | None = None

    def weight(self) -> torch.Tensor:
        """``scale * round(u / bin) + shift`` (straight-through): what the decoder computes."""
        return round_ste(self.latent / self.bin) * self.log_scale.exp() + self.shift

    def codes(self) -> torch.Tensor:
        """The integer latent (int64)."""
        return torch.round(self.latent.detach() / self.bin).to(torch.int64)

    def bits(self, noise: bool) -> torch.Tensor:
        """Differentiable bits of the residual ``q - q_prev`` (of ``q`` for the first group)."""
        y = self.latent / self.bin - self.prev
        y = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else round_ste(y)
        model = self.residual if self.residual is not None else self.intra
        likelihood, _, _ = model._likelihood(y.reshape(1, 1, -1).float())
        return -torch.log2(likelihood.clamp_min(1e-9)).sum()

    def decoder(self) -> tuple[float, float]:
        """The decoder as the stream stores it (float32 scale, float32 shift)."""
        return float(np.float32(self.log_scale.detach().exp())), float(np.float32(self.shift.detach()))

    @torch.no_grad()
    def next_group(self) -> None:
        """Start a group: residuals against the current codes, decoders frozen, residual density."""
        codes = self.codes().float()
        self.prev.copy_(codes)
        self.latent.copy_(codes * self.bin)
        self.log_scale.requires_grad_(False)
        self.shift.requires_grad_(False)
        if self.residual is None:
            self.residual = EntropyBottleneck(1, init_scale=1.0).to(self.bin.device)
            self.intra.requires_grad_(False)


class LatentNetwork(nn.Module):
    """A network whose every parameter is a :class:`LatentTensor` (in ``named_parameters`` order,
    the stream's order)."""

    def __init__(self, net: nn.Module, init_bits: float = 8.0) -> None:
        super().__init__()
        self.net = net
        self.names = [name for name, _ in net.named_parameters()]
        self.tensors = nn.ModuleList(LatentTensor(p, init_bits) for _, p in net.named_parameters())
        net.requires_grad_(False)  # the network's own parameters are placeholders

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        weights = {name: t.weight() for name, t in zip(self.names, self.tensors)}
        return functional_call(self.net, weights, inputs)

    def bits(self, noise: bool) -> torch.Tensor:
        return sum((t.bits(noise) for t in self.tensors), torch.zeros((), device=self.tensors[0].bin.device))

    def codes(self) -> list[np.ndarray]:
        out = [t.codes().cpu().numpy() for t in self.tensors]
        if any(np.abs(c).max(initial=0) >= MAX_CODE for c in out):
            raise OverflowError("latent out of range: a decoder scale collapsed during training")
        return out

    def decoders(self) -> list[tuple[float, float]]:
        return [t.decoder() for t in self.tensors]

    def next_group(self) -> None:
        for t in self.tensors:
            t.next_group()


@dataclass(frozen=True)
class GroupRecord:
    """One group's chunk: the steps it trained, decoders (``None``: unchanged), latent residuals."""

    steps: int
    decoders: tuple[tuple[float, float], ...] | None
    residuals: tuple[np.ndarray, ...]


def write_group(record: GroupRecord) -> bytes:
    """``u8 flags | uvarint steps | [f32 scale, f32 shift] per tensor if flags & 1 | ints per tensor``."""
    w = ByteWriter()
    w.u8(FLAG_DECODERS if record.decoders is not None else 0)
    w.uvarint(record.steps)
    if record.decoders is not None:
        w.f32_array(np.asarray(record.decoders, dtype=np.float32).reshape(-1))
    for residual in record.residuals:
        write_ints(w, residual.reshape(-1).astype(np.int64))
    return w.getvalue()


def read_group_head(data: bytes, chunk: int | None = None, base_offset: int = 0) -> tuple[ByteReader, int, int]:
    """The reader positioned after flags and steps, the flags and the steps."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    flags = r.u8()
    if flags & ~FLAG_DECODERS:
        raise BitstreamError(f"group chunk has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
    return r, flags, r.uvarint()


def read_group(data: bytes, shapes: list[tuple[int, ...]], chunk: int | None = None,
               base_offset: int = 0) -> GroupRecord:
    """Inverse of :func:`write_group` for a network whose tensors have ``shapes``."""
    r, flags, steps = read_group_head(data, chunk, base_offset)
    decoders = None
    if flags & FLAG_DECODERS:
        values = r.f32_array(2 * len(shapes)).reshape(-1, 2)
        if not np.isfinite(values).all():
            raise BitstreamError("group chunk holds a non-finite decoder", chunk=chunk)
        decoders = tuple((float(s), float(b)) for s, b in values)
    residuals = []
    for shape in shapes:
        ints = np.asarray(read_ints(r))
        if ints.size != math.prod(shape):
            raise BitstreamError(f"group chunk holds {ints.size} latents for a tensor of shape {shape}",
                                 chunk=chunk)
        residuals.append(ints.astype(np.int64).reshape(shape))
    r.expect_end()
    return GroupRecord(steps=steps, decoders=decoders, residuals=tuple(residuals))
