"""Building blocks shared by the NeRV-style families (decoder side: nothing here trains).

* Positional encoding of the frame index (NeRV, Chen et al., NeurIPS 2021, eq. 2), and how many
  levels a clip's length needs.
* NeRV block: Conv -> PixelShuffle -> GELU (NeRV; HNeRV, Chen et al., CVPR 2023), or ``sin`` in
  place of GELU (Boosting-NeRV's sinusoidal block, Zhang et al., "Boosting Neural Representations
  for Videos with a Conditional Decoder", CVPR 2024).
* Boosting-NeRV's temporal-aware affine transform (:class:`TemporalResBlock`) and NeRV++'s block
  (:class:`NervPlusBlock`; Ghorbel et al., "NeRV++: An Enhanced Implicit Neural Video
  Representation"), chosen per stream by the ``trunk`` bits (:data:`TRUNK_SFT`, :data:`TRUNK_SIN`,
  :data:`TRUNK_NERVPP`).
* Upsampling trunk: a stack of such blocks and a 3x3 RGB head with ``tanh * 0.5 + 0.5`` (HNeRV).
* Stride planning: any resolution, no cropping of the video. The trunk's output is the smallest
  multiple of the stride product that covers the frame, and only the frame's own area is kept.
* Strips: each block's and the trunk's layers as operations over strips of rows
  (:mod:`codec.tools.tiles`), so that a decoder renders a large frame a strip at a time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codec.tools.tiles import Conv, Crop, Map, Op, Shuffle, Sum, Upsample, pointwise

STRIDE_CHOICES = (5, 4, 3, 2)
#: Bits of the ``trunk`` field of NervConfig and HnervConfig (bitstream.md §8.1).
TRUNK_SFT = 1  # a TemporalResBlock after every upsampling block
TRUNK_SIN = 2  # sin in place of GELU after the first block's PixelShuffle
TRUNK_NERVPP = 4  # NervPlusBlock in place of NervBlock
TRUNK_BITS = TRUNK_SFT | TRUNK_SIN | TRUNK_NERVPP
#: Width of the time embedding that drives the affine transforms (Boosting-NeRV).
TIME_DIM = 32


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


def check_trunk(family: str, trunk: int) -> None:
    """ValueError for ``trunk`` bits this reader does not know."""
    if trunk & ~TRUNK_BITS or trunk < 0:
        raise ValueError(f"{family} trunk bits {trunk:#x} are not all known ({TRUNK_BITS:#x})")


def frame_time(idx: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Frame indices as times ``f / max(1, N - 1)`` in [0, 1]."""
    return idx.float() / max(1, num_frames - 1)


def base_grid(height: int, width: int, strides: Sequence[int]) -> tuple[int, int]:
    """Size of the map the first block receives."""
    p = math.prod(strides)
    return math.ceil(height / p), math.ceil(width / p)


def stage_channels(first: int, stages: int, ratio: float, floor: int) -> tuple[int, ...]:
    """Channels per stage, divided by ``ratio`` at each (HNeRV uses 1.2, NeRV 2) down to ``floor``."""
    return tuple(max(floor, round(first / ratio**i)) for i in range(stages))


class Sine(nn.Module):
    """``sin(x)``: the activation of Boosting-NeRV's sinusoidal NeRV-like block."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class NervBlock(nn.Module):
    """Conv(k) to ``out * s^2`` channels -> PixelShuffle(s) -> GELU (``sine``: sin)."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, sine: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * stride * stride, kernel, padding=kernel // 2)
        self.shuffle = nn.PixelShuffle(stride)
        self.act = Sine() if sine else nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))

    def strip_ops(self) -> list[Op]:
        """:meth:`forward` over strips of rows (:mod:`codec.tools.tiles`)."""
        act = self.act
        return [Conv(self.conv), Shuffle(self.shuffle.upscale_factor), Map(lambda x: pointwise(act, x))]


def expanded(channels: int) -> int:
    """Hidden width of NeRV++'s gated convolution and feed-forward layer: 8/3 of ``channels``."""
    return max(1, round(8 * channels / 3))


class GatedConv(nn.Module):
    """NeRV++'s gated CNN: ``x + reduce(GELU(a) * b)``, where ``(a, b)`` are the two halves of
    ``depthwise5x5(expand(x))`` (``expand``: 1x1 to twice :func:`expanded` channels, without a
    bias: the depthwise conv's bias does its work, and every stored tensor costs a rate estimate
    per training step)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = expanded(channels)
        self.expand = nn.Conv2d(channels, 2 * hidden, 1, bias=False)
        self.depthwise = nn.Conv2d(2 * hidden, 2 * hidden, 5, padding=2, groups=2 * hidden)
        self.reduce = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.depthwise(self.expand(x)).chunk(2, dim=1)
        return x + self.reduce(F.gelu(a) * b)


class ConvFeedForward(nn.Module):
    """NeRV++'s residual feed-forward layer: ``x + fc2(GELU(fc1(depthwise3x3(x))))`` (the
    depthwise conv has no bias: ``fc1``'s would absorb it exactly)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = expanded(channels)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.depthwise(x))))


class NervPlusBlock(nn.Module):
    """NeRV++'s upsampling block (Ghorbel et al.): 1x1 projection to ``cout`` -> gated CNN -> NeRV
    upsampling (Conv(k) -> PixelShuffle(s) -> GELU, ``sine``: sin) -> residual feed-forward, plus
    the block's input upsampled bilinearly by ``s`` (through a 1x1 conv when ``cin != cout``)."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, sine: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1)
        self.gated = GatedConv(cout)
        self.up = NervBlock(cout, cout, stride, kernel, sine)
        self.ffn = ConvFeedForward(cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ffn(self.up(self.gated(self.proj(x))))
        skip = F.interpolate(self.skip(x), scale_factor=self.stride, mode="bilinear", align_corners=False)
        return y + skip

    def strip_ops(self) -> list[Op]:
        """:meth:`forward` over strips of rows (:mod:`codec.tools.tiles`); a ValueError for a
        stride whose bilinear skip is not strip-exact (3 or 5)."""
        gated, ffn = self.gated, self.ffn

        def gate(y: torch.Tensor) -> torch.Tensor:
            a, b = y.chunk(2, dim=1)
            return gated.reduce(pointwise(F.gelu, a) * b)

        main = [Map(self.proj), Sum([], [Map(gated.expand), Conv(gated.depthwise), Map(gate)]), *self.up.strip_ops(),
                Sum([], [Conv(ffn.depthwise), Map(lambda y: ffn.fc2(pointwise(F.gelu, ffn.fc1(y))))])]
        return [Sum(main, [Map(self.skip), Upsample(self.stride)])]


class TimeEmbedding(nn.Module):
    """Boosting-NeRV's time embedding: ``GELU(Linear(GELU(Linear(PE(t)))))``, :data:`TIME_DIM`
    features per frame, shared by every affine transform of a trunk."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.pe = PositionalEncoding(levels)
        self.mlp = nn.Sequential(nn.Linear(self.pe.dim, TIME_DIM), nn.GELU(), nn.Linear(TIME_DIM, TIME_DIM),
                                 nn.GELU())

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.pe(t))


def affine(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Boosting-NeRV's temporal-aware affine transform (SFT): ``x * (scale + 1) + shift``, one
    ``scale`` and ``shift`` per sample and channel."""
    return x * (scale[:, :, None, None] + 1) + shift[:, :, None, None]


class TemporalResBlock(nn.Module):
    """Boosting-NeRV's residual block after an upsampling block:
    ``x + conv2(SFT2(GELU(conv1(SFT1(x)))))``, 3x3 convs keeping the block's channels. The
    block's own heads are one Linear of the time embedding giving the scale and shift of SFT1,
    then those of SFT2 (one stored tensor instead of four: each costs a rate estimate per step)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.modulation = nn.Linear(TIME_DIM, 4 * channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale1, shift1, scale2, shift2 = self.modulation(emb).chunk(4, dim=1)
        y = F.gelu(self.conv1(affine(x, scale1, shift1)))
        return x + self.conv2(affine(y, scale2, shift2))

    def strip_ops(self, emb: torch.Tensor, keep: slice = slice(None)) -> list[Op]:
        """:meth:`forward` over strips of rows (:mod:`codec.tools.tiles`) for time embedding ``emb``,
        for its frames ``keep`` only (the modulations made for every frame of ``emb``, as
        :meth:`forward` makes them: a matrix product's result can depend on its rows)."""
        scale1, shift1, scale2, shift2 = self.modulation(emb)[keep].chunk(4, dim=1)
        return [Sum([], [Map(lambda x: affine(x, scale1, shift1)), Conv(self.conv1), Map(lambda x: pointwise(F.gelu, x)),
                         Map(lambda y: affine(y, scale2, shift2)), Conv(self.conv2)])]


class UpsampleTrunk(nn.Module):
    """Upsampling blocks then an RGB head; output cropped to ``height x width``.

    ``trunk`` bits (:data:`TRUNK_BITS`): NeRV++ blocks in place of NeRV blocks, ``sin`` after the
    first block's PixelShuffle, and a :class:`TemporalResBlock` after every block, driven by a
    :class:`TimeEmbedding` of ``time_levels`` encoding levels (the frame's time then goes to
    :meth:`forward`)."""

    def __init__(
        self,
        cin: int,
        channels: Sequence[int],
        strides: Sequence[int],
        kernels: Sequence[int],
        height: int,
        width: int,
        trunk: int = 0,
        time_levels: int = 0,
    ) -> None:
        super().__init__()
        if not (len(channels) == len(strides) == len(kernels)):
            raise ValueError("channels, strides and kernels must have one entry per stage")
        self.time = TimeEmbedding(time_levels) if trunk & TRUNK_SFT else None
        block = NervPlusBlock if trunk & TRUNK_NERVPP else NervBlock
        blocks, c = [], cin
        for i, (cout, s, k) in enumerate(zip(channels, strides, kernels)):
            blocks.append(block(c, cout, s, k, sine=i == 0 and bool(trunk & TRUNK_SIN)))
            c = cout
        self.blocks = nn.ModuleList(blocks)
        self.refine = nn.ModuleList(TemporalResBlock(c) for c in channels) if self.time is not None else None
        self.head = nn.Conv2d(c, 3, 3, padding=1)
        self.height, self.width = height, width
        self.channels, self.strides = tuple(channels), tuple(strides)
        #: Whether some frames of a batch render as they do in the whole batch (``strip_stages``'
        #: ``keep``): not with a 1x1 convolution (NeRV++'s projections, a first stage of kernel 1),
        #: whose result torch can give other last bits in a smaller batch (measured: NeRV++'s
        #: projection on 2 of 4 maps of 2x3); convolutions wider than a pixel over two maps or
        #: more run on oneDNN, a map's result whatever the batch.
        self.frames_apart = not trunk & TRUNK_NERVPP and min(kernels) > 1

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        emb = None
        if self.time is not None:
            if t is None:
                raise ValueError("this trunk's affine transforms need the frames' times")
            emb = self.time(t)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if self.refine is not None:
                x = self.refine[i](x, emb)
        y = unit_output(self.head(x))
        return y[:, :, : self.height, : self.width]

    def strip_stages(self, x: torch.Tensor, t: torch.Tensor | None = None,
                     keep: slice = slice(None)) -> list[tuple[list[Op], int]]:
        """:meth:`forward` on the map ``x`` (and times ``t``) as stages of operations over strips
        of rows (:mod:`codec.tools.tiles`), each with the values of its whole output: a block
        (and its affine block), then the head. ``keep``: for the frames ``x[keep]`` of the batch
        only (the time embedding and the affine blocks' modulations made for the whole batch, as
        :meth:`forward` makes them, then their rows taken). A ValueError for a trunk that is not strip-exact (a NeRV++ block of stride 3
        or 5)."""
        emb = self.time(t) if self.time is not None else None
        batch, _, h, w = x[keep].shape
        stages = []
        for i, (block, c, s) in enumerate(zip(self.blocks, self.channels, self.strides)):
            h, w = h * s, w * s
            ops = block.strip_ops() + (self.refine[i].strip_ops(emb, keep) if self.refine is not None else [])
            stages.append((ops, batch * c * h * w))
        head = [Conv(self.head), Map(lambda y: pointwise(torch.sigmoid, 2.0 * y)), Crop(self.height, self.width, h)]
        return stages + [(head, batch * 3 * h * w)]

def unit_output(y: torch.Tensor) -> torch.Tensor:
    """HNeRV's output activation ``tanh(y) * 0.5 + 0.5``, computed as ``sigmoid(2 y)``: the same
    function in one operation. On CPUs torch's sigmoid is far faster than its tanh (one AVX-512
    core, 608k values: 0.25 against 1.6 ms forward), and the output covers every pixel of a step."""
    return torch.sigmoid(2.0 * y)
