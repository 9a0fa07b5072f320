"""Building blocks shared by the NeRV-style families (decoder side: nothing here trains).

* Positional encoding of the frame index (NeRV, Chen et al., NeurIPS 2021, eq. 2), and how many
  levels a clip's length needs.
* NeRV block: Conv -> PixelShuffle -> GELU (NeRV; HNeRV, Chen et al., CVPR 2023).
* Upsampling trunk: a stack of such blocks and a 3x3 RGB head with ``tanh * 0.5 + 0.5`` (HNeRV).
* Stride planning: any resolution, no cropping of the video. The trunk's output is the smallest
  multiple of the stride product that covers the frame, and only the frame's own area is kept.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

STRIDE_CHOICES = (5, 4, 3, 2)


class PositionalEncoding(nn.Module):
    """``t -> [sin(b^i pi t), cos(b^i pi t)]`` for ``i < levels``, NeRV's base ``b = 1.25``."""

    def __init__(self, levels: int, base: float = 1.25) -> None:
        super().__init__()
        self.register_buffer(
            "freqs", (base ** torch.arange(levels, dtype=torch.float32)) * math.pi, persistent=False
        )

    @property
    def dim(self) -> int:
        return 2 * self.freqs.numel()

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        x = t[..., None].float() * self.freqs
        return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)


def pe_levels_for(positions: int) -> int:
    """Encoding levels whose highest frequency resolves ``positions`` steps (frames, or patch rows
    and columns), plus a margin."""
    return int(min(80, max(8, math.ceil(math.log(max(positions, 2)) / math.log(1.25)) + 4)))


def plan_strides(height: int, width: int, stages: int, target_cells: float) -> tuple[int, ...]:
    """Strides (largest first) whose product P gives a base map of about ``target_cells`` cells.

    The score trades the distance to the target (in log) against the padding the grid of P x P
    cells adds beyond the frame, so odd sizes get strides that fit them.
    """
    best, best_score = None, math.inf
    for combo in itertools.combinations_with_replacement(STRIDE_CHOICES, stages):
        p = math.prod(combo)
        h0, w0 = math.ceil(height / p), math.ceil(width / p)
        waste = (h0 * w0 * p * p) / (height * width) - 1.0
        score = abs(math.log(h0 * w0 / target_cells)) + 4.0 * waste
        if score < best_score:
            best, best_score = combo, score
    assert best is not None
    return tuple(sorted(best, reverse=True))


def check_stages(family: str, strides: Sequence[int], channels: Sequence[int],
                 kernels: Sequence[int]) -> None:
    """Bounds every NeRV-style trunk config must meet (ValueError), so that a stream's config
    cannot ask for an absurd network."""
    if not (1 <= len(strides) <= 8 and len(strides) == len(channels) == len(kernels)):
        raise ValueError(f"{family} stages: strides, channels and kernels must have 1..8 equal entries")
    if any(not 2 <= s <= 8 for s in strides) or any(not 1 <= c <= 4096 for c in channels):
        raise ValueError(f"{family} stage strides or channels out of range")
    if any(k not in (1, 3, 5, 7) for k in kernels):
        raise ValueError(f"{family} kernels must be 1, 3, 5 or 7")


def base_grid(height: int, width: int, strides: Sequence[int]) -> tuple[int, int]:
    """Size of the map the first block receives."""
    p = math.prod(strides)
    return math.ceil(height / p), math.ceil(width / p)


def stage_channels(first: int, stages: int, ratio: float, floor: int) -> tuple[int, ...]:
    """Channels per stage, divided by ``ratio`` at each (HNeRV uses 1.2, NeRV 2) down to ``floor``."""
    return tuple(max(floor, round(first / ratio**i)) for i in range(stages))


class NervBlock(nn.Module):
    """Conv(k) to ``out * s^2`` channels -> PixelShuffle(s) -> GELU."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * stride * stride, kernel, padding=kernel // 2)
        self.shuffle = nn.PixelShuffle(stride)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


class UpsampleTrunk(nn.Module):
    """NeRV blocks then an RGB head; output cropped to ``height x width``."""

    def __init__(
        self,
        cin: int,
        channels: Sequence[int],
        strides: Sequence[int],
        kernels: Sequence[int],
        height: int,
        width: int,
    ) -> None:
        super().__init__()
        if not (len(channels) == len(strides) == len(kernels)):
            raise ValueError("channels, strides and kernels must have one entry per stage")
        blocks, c = [], cin
        for cout, s, k in zip(channels, strides, kernels):
            blocks.append(NervBlock(c, cout, s, k))
            c = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Conv2d(c, 3, 3, padding=1)
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = unit_output(self.head(self.blocks(x)))
        return y[:, :, : self.height, : self.width]


def unit_output(y: torch.Tensor) -> torch.Tensor:
    """HNeRV's output activation ``tanh(y) * 0.5 + 0.5``, computed as ``sigmoid(2 y)``: the same
    function in one operation. On CPUs torch's sigmoid is far faster than its tanh (one AVX-512
    core, 608k values: 0.25 against 1.6 ms forward), and the output covers every pixel of a step."""
    return torch.sigmoid(2.0 * y)
