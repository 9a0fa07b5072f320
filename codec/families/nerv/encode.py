"""Training side of ``nerv``: the network through its quantizers."""

from __future__ import annotations

import torch
from torch import nn

from codec.families.nerv.net import NervNet
from codec.tools.qat import QuantizedNetwork


class NervTrainable(nn.Module):
    def __init__(self, net: NervNet, post_bits: int | None = None) -> None:
        super().__init__()
        self.qnet = QuantizedNetwork(net, post_bits)

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.qnet.run(idx)

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.qnet.bits(noise)

    def chunks(self, frames: torch.Tensor) -> list[tuple[int, bytes]]:
        return [self.qnet.network_chunk()]
