"""Frames rendered in strips of rows: decoding memory bounded whatever the frame's size, and every
strip's rows bit for bit those of the whole frame. Nothing here trains.

A decoder whose feature maps grow with the frame's area renders a frame as horizontal strips of
about :func:`budget` pixels and at least :data:`MIN_ROWS` rows each (:func:`plan`; full width: a
stream's frames are at most 16384 pixels wide, ``bitstream.container.MAX_DIM``), and writes each strip's 8-bit rows into the frame as it finishes
(:class:`Canvas`), so that one strip's feature maps are alive at a time. A family describes its
layers as strip operations (:class:`Op`): the rows of its input an output's rows need, and the rows
a strip's result holds exactly. :func:`render_rows` runs a list of them backwards (rows needed)
then forwards. Independent pieces (nirvana's patches, teconerv's tubelets) need no halo; they
only use the :class:`Canvas`.

Why a strip's rows are the whole frame's, bit for bit (tests/codec/test_tiles.py, and per family
the contract suite):

1. **Halo.** A convolution with a ``k x k`` kernel needs ``k // 2`` rows more on each side, and
   its result is wrong in the ``k // 2`` rows at a strip's inner edges (padding where the frame has
   neighbours): :class:`Conv` drops them. A pixel shuffle by ``s`` needs ``1 / s`` of the rows; a
   linear upsampling one input row more on each side (:class:`Upsample`).
2. **Kernels whose result for a pixel does not depend on the strip.** A convolution wider than
   one pixel runs on oneDNN on a part of a map (:func:`conv2d`), the kernel torch itself picks
   for every map large enough to be split (an input of more than 20480 values, or a batch of
   several; torch's fallback for small inputs, im2col and a matrix product, gives a pixel results
   that depend on the input's size); a whole map runs through its module, as it always has. Matrix products over pixels (1x1 layers) give every pixel the same result in any
   strip. Linear upsampling by a power of two computes the same source positions and weights in
   a strip as in the frame; by 3 or 5 it does not (``1 / 3`` is not exact in float32), and
   :class:`Upsample` refuses those factors.
3. **Elementwise functions.** torch computes a tensor's last few elements (its size modulo the
   vector width) with scalar code whose sigmoid and erf (GELU) can differ in the last bit from the
   vectorized code that computes the rest; a strip has other last elements than the frame.
   :func:`pointwise` runs every element through the vectorized code, whatever the tensor's size
   (products, sums and ReLU are exact either way and need it not).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.tools.dequantize import to_uint8

#: Pixels a strip covers by default (rows x width x frames of a batch): 256k pixels, 34 rows of an
#: 8K frame. Frames up to this size render whole.
STRIP_PIXELS = 1 << 18
#: Rows a strip has at least: a deep trunk's halos make thinner strips recompute much of their
#: rows (measured: see :func:`plan`).
MIN_ROWS = 64
#: Pixels of the frames a decoder renders and yields at once, where its structure lets it choose
#: (a group of frames rendered together): 32M pixels, 96 MiB of 8-bit RGB, one 8K frame.
CANVAS_PIXELS = 1 << 25
#: Elements :func:`pointwise` hands torch at once when it runs on several threads: a multiple of
#: every vector width of torch's CPU kernels, under the size (32768) from which torch splits an
#: elementwise operation across threads (each thread's share then has last elements of its own).
POINTWISE_CHUNK = 1 << 14
#: The last elements :func:`pointwise` computes again on one thread: more than torch leaves to its
#: scalar code (under twice the vector width: 32 floats with AVX-512), and a multiple of it.
POINTWISE_TAIL = 256
#: A pipeline's first stages whose whole outputs hold at most this many values per pixel of a
#: strip (8M values, 32 MB, with the default budget; at least :data:`WHOLE_VALUES`) are computed
#: whole, once (:func:`whole_prefix`): an upsampling trunk's first maps are small, a strip of one
#: would be a few of its rows and its halo (recomputed by every strip), and a strip of a few pixels
#: may take another matrix-product kernel (rule 2). hnerv at 2160p, one frame, one thread: 6.82 s of
#: CPU with whole maps up to 64k values, 4.60 s up to 8M (3.88 s with strips of 64 rows).
WHOLE_PER_PIXEL = 32
WHOLE_VALUES = 1 << 16

_budget: list = [STRIP_PIXELS, MIN_ROWS]


def budget() -> int | None:
    """Pixels per strip now (``None``: whole frames)."""
    return _budget[0]


@contextmanager
def strip_pixels(pixels: int | None, min_rows: int = 1) -> Iterator[None]:
    """Render with strips of about ``pixels`` pixels (``None``: whole frames) and at least
    ``min_rows`` rows within the block: what tests use to compare a tiled render with a whole one."""
    if pixels is not None and pixels < 1:
        raise ValueError("a strip covers at least one pixel")
    saved = list(_budget)
    _budget[:] = [pixels, min_rows]
    try:
        yield
    finally:
        _budget[:] = saved


def frames_at_once(height: int, width: int) -> int:
    """How many ``height x width`` frames a decoder renders and yields together (at least one):
    :data:`CANVAS_PIXELS` worth, or every frame when strips are off (:func:`strip_pixels`)."""
    if budget() is None:
        return 1 << 30
    return max(1, CANVAS_PIXELS // (height * width))


def batch_span(first: int, stop: int, size: int) -> tuple[int, int]:
    """The samples of a batch of ``size`` a decoder runs to render samples ``first .. stop - 1`` of
    it: those, but two where that would be a single one of several. Torch runs a convolution over a
    batch of several on oneDNN and over a single small map on another kernel (rule 2), so a sample
    rendered alone could differ from the same sample rendered in its batch; over two or more, its
    result is the batch's, bit for bit (the contract suite and tests/codec/test_decode_memory.py)."""
    if stop - first == 1 and size > 1:
        return (first - 1, stop) if stop == size else (first, stop + 1)
    return first, stop


def plan(height: int, width: int, frames: int = 1, pixels: int | None = None) -> list[tuple[int, int]]:
    """``(first row, stop row)`` of the strips of an ``height x width`` frame rendered ``frames``
    at a time, about ``pixels`` (default :func:`budget`) pixels each but at least
    :data:`MIN_ROWS` rows, of nearly equal heights (a strip is never much thinner than the others).
    The floor: hnerv's trunk at 2160p (strides 4, 4, 4, 3, 3), one frame, one thread, 9.99 s of
    CPU in strips of 17 rows (the pixel budget's), 6.79 s in strips of 32; at 4320p (strides
    5, 5, 5, 3, 3; maps up to 8M values whole) 23.9 s in strips of 64 rows, 24.8 s of 128."""
    pixels = budget() if pixels is None else pixels
    if pixels is None or height * width * frames <= pixels:
        return [(0, height)]
    count = max(1, height // max(1, pixels // (width * frames), _budget[1]))
    bounds = [height * i // count for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


@dataclass(frozen=True)
class Rows:
    """Rows ``lo .. hi - 1`` of a map of ``size`` rows."""

    lo: int
    hi: int
    size: int

    def grow(self, before: int, after: int | None = None) -> "Rows":
        """``before`` rows more above and ``after`` (default ``before``) below, within the map."""
        after = before if after is None else after
        return Rows(max(0, self.lo - before), min(self.size, self.hi + after), self.size)

    def union(self, other: "Rows") -> "Rows":
        return Rows(min(self.lo, other.lo), max(self.hi, other.hi), self.size)

    def covers(self, other: "Rows") -> bool:
        return self.lo <= other.lo and other.hi <= self.hi


@dataclass(frozen=True)
class Strip:
    """A feature map's rows: ``x`` (N, C, rows, W) holds ``rows`` of the map."""

    x: torch.Tensor
    rows: Rows

    def crop(self, rows: Rows) -> "Strip":
        """Only ``rows`` (within :attr:`rows`), contiguous."""
        if not self.rows.covers(rows):
            raise ValueError(f"strip holds rows {self.rows.lo}..{self.rows.hi}, not {rows.lo}..{rows.hi}")
        if rows == self.rows:
            return self
        a = rows.lo - self.rows.lo
        return Strip(self.x[:, :, a : a + rows.hi - rows.lo].contiguous(), rows)


class Op(ABC):
    """One layer over strips: the input rows an output's ``rows`` need, and the layer run on a
    strip (the result holds the rows it has exactly: fewer than the input's where a strip's inner
    edge spoils them)."""

    @abstractmethod
    def need(self, out: Rows) -> Rows: ...

    @abstractmethod
    def __call__(self, s: Strip) -> Strip: ...


class Map(Op):
    """A function of each pixel on its own (1x1 layers, activations, per-frame affine maps)."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.fn = fn

    def need(self, out: Rows) -> Rows:
        return out

    def __call__(self, s: Strip) -> Strip:
        return Strip(self.fn(s.x), s.rows)


class Conv(Op):
    """``module``, a stride-1 ``nn.Conv2d`` with an odd kernel padded by half of it (zeros or
    another padding mode): the module itself on a whole map, :func:`conv2d` on a part of one."""

    def __init__(self, module: nn.Conv2d) -> None:
        kh, kw = module.kernel_size
        if module.stride != (1, 1) or kh % 2 == 0 or module.padding != (kh // 2, kw // 2):
            raise ValueError("a strip convolution has stride 1 and an odd kernel padded by half of it")
        self.module, self.halo = module, kh // 2

    def need(self, out: Rows) -> Rows:
        return out.grow(self.halo)

    def __call__(self, s: Strip) -> Strip:
        r, h = s.rows, self.halo
        # a whole map runs as the module always has (torch's choice of kernel), a part of one on
        # oneDNN (rule 2): the choice torch makes for every map large enough to be split
        y = self.module(s.x) if (r.lo, r.hi) == (0, r.size) else conv2d(self.module, s.x)
        top, bottom = (h if r.lo > 0 else 0), (h if r.hi < r.size else 0)
        return Strip(y, r).crop(Rows(r.lo + top, r.hi - bottom, r.size))


class Shuffle(Op):
    """``pixel_shuffle`` by ``factor``: channels to a ``factor`` times larger map."""

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def need(self, out: Rows) -> Rows:
        f = self.factor
        return Rows(out.lo // f, -(-out.hi // f), out.size // f)

    def __call__(self, s: Strip) -> Strip:
        f, r = self.factor, s.rows
        return Strip(F.pixel_shuffle(s.x, f), Rows(r.lo * f, r.hi * f, r.size * f))


def upsampled_need(out: Rows, factor: int, size: int) -> Rows:
    """Input rows (of ``size``) of a linear upsampling by ``factor`` (half-pixel centres, edges
    clamped) that output rows ``out`` read: each output row's two neighbours."""
    return Rows(max(0, out.lo // factor - 1), min(size, (out.hi - 1) // factor + 2), size)


def upsampled_rows(rows: Rows, factor: int) -> Rows:
    """The output rows that a linear upsampling of input ``rows`` (of ``rows.size``) by ``factor``
    (a power of two) gives exactly: all of them but those next to an inner edge, whose second
    neighbour the strip lacks."""
    if factor & (factor - 1):
        raise ValueError(f"linear upsampling by {factor} is not strip-exact (only powers of two are)")
    half = factor // 2
    lo = rows.lo * factor + (half if rows.lo > 0 else 0)
    hi = rows.hi * factor - (half if rows.hi < rows.size else 0)
    return Rows(lo, hi, rows.size * factor)


class Upsample(Op):
    """``F.interpolate(..., scale_factor=factor, mode="bilinear", align_corners=False)``, a power
    of two (:func:`upsampled_rows`)."""

    def __init__(self, factor: int) -> None:
        upsampled_rows(Rows(0, 1, 1), factor)  # refuses other factors
        self.factor = factor

    def need(self, out: Rows) -> Rows:
        return upsampled_need(out, self.factor, out.size // self.factor)

    def __call__(self, s: Strip) -> Strip:
        y = F.interpolate(s.x, scale_factor=self.factor, mode="bilinear", align_corners=False)
        full = Rows(s.rows.lo * self.factor, s.rows.hi * self.factor, s.rows.size * self.factor)
        return Strip(y, full).crop(upsampled_rows(s.rows, self.factor))


class Sum(Op):
    """The sum of ``paths`` (each a list of operations on the same input; an empty one is the
    input itself), added in order."""

    def __init__(self, *paths: Sequence[Op]) -> None:
        self.paths = [list(p) for p in paths]

    def need(self, out: Rows) -> Rows:
        needs = [need(p, out) for p in self.paths]
        result = needs[0]
        for n in needs[1:]:
            result = result.union(n)
        return result

    def __call__(self, s: Strip) -> Strip:
        outs = [forward(p, s) for p in self.paths]
        rows = outs[0].rows
        for o in outs[1:]:
            rows = Rows(max(rows.lo, o.rows.lo), min(rows.hi, o.rows.hi), rows.size)
        total = outs[0].crop(rows).x
        for o in outs[1:]:
            total = total + o.crop(rows).x
        return Strip(total, rows)


class Crop(Op):
    """The top-left ``height x width`` of a map of ``full`` rows (a trunk covers a multiple of its
    strides and keeps the frame's own area)."""

    def __init__(self, height: int, width: int, full: int) -> None:
        self.height, self.width, self.full = height, width, full

    def need(self, out: Rows) -> Rows:
        return Rows(out.lo, out.hi, self.full)

    def __call__(self, s: Strip) -> Strip:
        r = s.rows
        kept = Strip(s.x[..., : self.width], r).crop(Rows(r.lo, min(r.hi, self.height), r.size))
        return Strip(kept.x, Rows(kept.rows.lo, kept.rows.hi, self.height))


def need(ops: Sequence[Op], out: Rows) -> Rows:
    """The input rows ``ops`` need for output rows ``out``."""
    for op in reversed(ops):
        out = op.need(out)
    return out


def forward(ops: Sequence[Op], s: Strip) -> Strip:
    for op in ops:
        s = op(s)
    return s


def render_rows(ops: Sequence[Op], source: Callable[[Rows], Strip], out: Rows) -> torch.Tensor:
    """Output rows ``out`` of ``ops`` run on the map ``source(rows)`` gives the rows of (the rows
    the pipeline needs)."""
    result = forward(ops, source(need(ops, out)))
    if not result.rows.covers(out):
        raise AssertionError(f"a strip pipeline gave rows {result.rows.lo}..{result.rows.hi}, "
                             f"not {out.lo}..{out.hi}")
    return result.crop(out).x


def whole_prefix(stages: Sequence[tuple[Sequence[Op], int]], x: torch.Tensor) -> tuple[Strip, list[Op]]:
    """``stages`` (operations and the values of their whole output) run on ``x`` whole as long as
    their outputs are small (:data:`WHOLE_PER_PIXEL`, :data:`WHOLE_VALUES`), and the
    operations left: the small first maps of a trunk are computed once per batch, not per strip
    (every stage, without strips)."""
    s = Strip(x, Rows(0, x.shape[-2], x.shape[-2]))
    stages = list(stages)
    limit = math.inf if budget() is None else max(WHOLE_VALUES, WHOLE_PER_PIXEL * budget())
    while stages and stages[0][1] <= limit:
        s = forward(stages.pop(0)[0], s)
    return s, [op for ops, _ in stages for op in ops]


def conv2d(module: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, on oneDNN for a kernel wider than one pixel on a CPU (rule 2 of the module's
    docstring; a 1x1 layer is a matrix product over pixels either way)."""
    if (x.device.type != "cpu" or x.dtype != torch.float32 or module.kernel_size == (1, 1)
            or not torch.backends.mkldnn.is_available()):
        return module(x)
    if module.padding_mode != "zeros":
        kh, kw = module.kernel_size
        x = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode=module.padding_mode)
        padding = [0, 0]
    else:
        padding = list(module.padding)
    return torch.mkldnn_convolution(x.contiguous(), module.weight, module.bias, padding, list(module.stride),
                                    list(module.dilation), module.groups)


def pointwise(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` for an elementwise ``fn``, every element on torch's vectorized CPU code (rule 3 of
    the module's docstring). On one thread: ``fn`` of the contiguous values, then its last
    :data:`POINTWISE_TAIL` values again from a buffer of that many (a multiple of every vector
    width, so that none is left to the scalar code); on several, chunk by chunk
    (:data:`POINTWISE_CHUNK`), each padded likewise, so that no thread has last values of its own."""
    if x.device.type != "cpu":
        return fn(x)
    x = x.contiguous()
    n = x.numel()
    if torch.get_num_threads() == 1:
        out = fn(x).contiguous()
        k = min(n, POINTWISE_TAIL)
        if k:
            tail = torch.zeros(POINTWISE_TAIL, dtype=x.dtype)
            tail[:k] = x.view(-1)[n - k :]
            out.view(-1)[n - k :] = fn(tail)[:k]
        return out
    flat = torch.zeros(n + (-n) % POINTWISE_CHUNK, dtype=x.dtype)
    flat[:n] = x.view(-1)
    out = torch.cat([fn(flat[a : a + POINTWISE_CHUNK]) for a in range(0, flat.numel(), POINTWISE_CHUNK)])
    return out[:n].view(x.shape)


class Canvas:
    """Frames ``(n, height, width, 3)`` uint8 filled piece by piece (``frames``): what a decoder
    yields, the one buffer of the frame's size it holds."""

    def __init__(self, n: int, height: int, width: int) -> None:
        self.frames = np.empty((n, height, width, 3), dtype=np.uint8)

    def put(self, rgb: torch.Tensor, top: int = 0, left: int = 0) -> None:
        """Rendered ``(n, 3, h, w)`` values in [0, 1] (clamped, rounded to 8 bits) at ``top, left``;
        what lies outside the frames is dropped."""
        _, height, width, _ = self.frames.shape
        h, w = min(rgb.shape[-2], height - top), min(rgb.shape[-1], width - left)
        if h > 0 and w > 0:
            self.frames[:, top : top + h, left : left + w] = to_uint8(rgb[..., :h, :w])
