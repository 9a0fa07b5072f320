"""Entropy coding of ``grid``'s latents under a learned context model, bit-exact on any machine.

Each latent (an integer in ``[-Q, Q]``) is coded with a discretized Laplace distribution whose
mean and scale a small network predicts from already decoded neighbours in its grid, as in C3
(Kim et al., "C3: High-performance and low-complexity neural compression from a single image or
video", CVPR 2024) and Cool-chic (Ladune et al., ICCV 2023; its ARM runs in fixed point for the
same reason as here). The decoder must reproduce the encoder's probabilities bit for bit, so the
network runs on integers: weights are stored as integers of step ``2**-WEIGHT_SHIFT``, every
activation is an integer number of ``2**-ACT_SHIFT`` (floor after each product), and the sums are
formed in float64 matrix products whose every partial sum is an integer below ``2**53`` (the
bounds below keep them there), so the order of summation cannot change a result. The outputs are
snapped to a mean in quarters and a log-scale in eighths; the 61 scales x 4 mean fractions are
fixed categorical tables built from :data:`RHO_Q` with IEEE multiplications and additions only.

**Decoding order.** A *scheme* gives every latent a pass number and a neighbourhood class; a
neighbourhood only reaches latents of earlier passes (or outside the grid: zeros), so the
decoder decodes one pass at a time, all of its latents in parallel:

* ``checkerboard`` (the default): frame ``t`` of a level is two passes, ``2t`` for the anchors
  (``y + x`` even) and ``2t + 1`` for the others. Anchors see five latents of the frame before
  (the same position and its four neighbours); the others also their four anchor neighbours.
* ``causal``: the full causal neighbourhood of raster order (two rows above, five wide, and two
  to the left) plus the frame before's five, decoded as a wavefront: pass ``3y + x + 4t``.

Within a pass the latents are coded run by run: sorted (stably, from raster order) by their
table (scale and mean fraction), each run one call into constriction's ANS coder with that
table's :class:`constriction.stream.model.Categorical`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import constriction
import numpy as np

from bitstream import BitstreamError
from bitstream.entropy import guarded

#: Latents are integers in [-Q, Q].
Q = 127
#: Symbols of a table: a latent minus the floor of its mean, in [-2Q, 2Q].
ALPHABET = 4 * Q + 1
#: Context weights are integers times 2**-WEIGHT_SHIFT; activations integers times 2**-ACT_SHIFT.
WEIGHT_SHIFT = 8
ACT_SHIFT = 8
#: Hidden activations are clamped to [0, ACT_LIMIT] and outputs to [-ACT_LIMIT, ACT_LIMIT] (units
#: of 2**-ACT_SHIFT), weight codes must lie within +-MAX_WEIGHT and a layer has at most 64
#: inputs: so every partial sum stays below 2**20 * 2**15 * 64 = 2**41.
ACT_LIMIT = float(2**20)
MAX_WEIGHT = 2**15
#: Log-scales (natural log of the Laplace scale) are snapped to eighths from LOG_SCALE_MIN.
LOG_SCALE_MIN = -3.0
SCALE_RES = 8
NUM_SCALES = 61
LOG_SCALE_MAX = LOG_SCALE_MIN + (NUM_SCALES - 1) / SCALE_RES
#: Means are snapped to quarters.
MEAN_RES = 4
NUM_TABLES = NUM_SCALES * MEAN_RES
#: ``round(2**32 * exp(-1 / (4 b_k)))`` for the scales ``b_k = exp(LOG_SCALE_MIN + k / 8)``: the
#: Laplace ratio over a quarter step, as exact rationals (a format constant; tested against
#: its formula).
RHO_Q = (
    28326988, 51102999, 86016682, 136190641, 204297186, 292202169, 400720934, 529522072, 677178699,
    841338806, 1018970977, 1206639450, 1400769423, 1597875222, 1794736477, 1988518181, 2176838258,
    2357790891, 2529935825, 2692263936, 2844148209, 2985287590, 3115649341, 3235413782, 3344923893,
    3444641087, 3535107628, 3616915610, 3690682041, 3757029370, 3816570722, 3869899107, 3917579861,
    3960145726, 3998093977, 4031885135, 4061942880, 4088654824, 4112373909, 4133420198, 4152082934,
    4168622723, 4183273754, 4196246011, 4207727397, 4217885777, 4226870884, 4234816112, 4241840155,
    4248048528, 4253534945, 4258382577, 4262665186, 4266448152, 4269789397, 4272740209, 4275345985,
    4277646894, 4279678468, 4281472127, 4283055650,
)
#: Neighbourhoods reach at most this far (grids are zero-padded by it).
PAD = 2

Offset = tuple[int, int, int]
_PREVIOUS: tuple[Offset, ...] = ((-1, 0, 0), (-1, -1, 0), (-1, 1, 0), (-1, 0, -1), (-1, 0, 1))
_CROSS: tuple[Offset, ...] = ((0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1))
_RASTER: tuple[Offset, ...] = tuple((0, dy, dx) for dy in (-2, -1) for dx in range(-2, 3)) + ((0, 0, -2), (0, 0, -1))


@dataclass(frozen=True)
class Scheme:
    """A decoding order: ``classes[c]`` is the neighbourhood (offsets ``(dt, dy, dx)``) of class
    ``c``; :meth:`passes` gives each latent's pass and class."""

    name: str
    classes: tuple[tuple[Offset, ...], ...]

    def passes(self, shape: tuple[int, int, int],
               origin: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
        """``(pass, class)`` of every latent of a grid of ``shape`` (int64 arrays of that shape), or
        of the part of a larger grid of that shape starting at ``origin``."""
        t, y, x = np.meshgrid(*(np.arange(o, o + n, dtype=np.int64) for o, n in zip(origin, shape)), indexing="ij")
        if self.name == "checkerboard":
            parity = (y + x) & 1
            return 2 * t + parity, parity
        return 3 * y + x + 4 * t, np.zeros(shape, dtype=np.int64)


SCHEMES = {
    "checkerboard": Scheme("checkerboard", (_PREVIOUS, _CROSS + _PREVIOUS)),
    "causal": Scheme("causal", (_RASTER + _PREVIOUS,)),
}


def layer_shapes(inputs: int, hidden: int, layers: int) -> list[tuple[int, ...]]:
    """Weight and bias shapes of one class's network: ``layers`` hidden layers, two outputs
    (mean, log-scale)."""
    shapes: list[tuple[int, ...]] = []
    width = inputs
    for _ in range(layers):
        shapes += [(hidden, width), (hidden,)]
        width = hidden
    return shapes + [(2, width), (2,)]


def context_shapes(scheme: Scheme, hidden: int, layers: int, levels: int = 0) -> list[tuple[int, ...]]:
    """Every tensor of a scheme's context networks, class by class (the stream's order), then,
    with ``levels``, the ``(levels, 2)`` per-level offsets of the outputs."""
    shapes = [s for offsets in scheme.classes for s in layer_shapes(len(offsets), hidden, layers)]
    return shapes + ([(levels, 2)] if levels else [])


@dataclass(frozen=True)
class IntegerContext:
    """The context networks as integer codes: per class, ``(weight, bias)`` per layer; and the
    per-level offsets of the last layer's biases (``(levels, 2)``; ``None``: none)."""

    scheme: Scheme
    layers: tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...]
    level_bias: np.ndarray | None = None

    @classmethod
    def from_codes(cls, scheme: Scheme, codes: list[np.ndarray], hidden: int, depth: int,
                   levels: int = 0) -> "IntegerContext":
        """From the stream's codes (:func:`context_shapes` order; ``levels``: rows of the offsets)."""
        if any(np.abs(c).max(initial=0) > MAX_WEIGHT for c in codes):
            raise BitstreamError("context network weight out of range")
        per_class = 2 * (depth + 1)
        out = []
        for c in range(len(scheme.classes)):
            mine = codes[c * per_class : (c + 1) * per_class]
            out.append(tuple((mine[i].astype(np.float64), mine[i + 1].astype(np.float64))
                             for i in range(0, per_class, 2)))
        bias = codes[len(scheme.classes) * per_class].astype(np.float64) if levels else None
        return cls(scheme, tuple(out), bias)

    def predict(self, cls: int, features: np.ndarray, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(mean in quarters, scale index)`` of latents of ``level`` with neighbour ``features`` (n, K)."""
        layers = self.layers[cls]
        h = features.astype(np.float64)
        w, b = layers[0]
        h = np.clip(h @ w.T + b, 0.0, ACT_LIMIT)  # integer inputs x 2**-8 weights: units of 2**-8
        last = len(layers) - 1
        for i, (w, b) in enumerate(layers[1:], start=1):
            if i == last and self.level_bias is not None:
                b = b + self.level_bias[level]
            acc = np.floor((h @ w.T + b * 2.0**WEIGHT_SHIFT) / 2.0**WEIGHT_SHIFT)
            h = np.clip(acc, 0.0 if i < len(layers) - 1 else -ACT_LIMIT, ACT_LIMIT)
        unit = 2**ACT_SHIFT
        mean = np.floor((h[:, 0] + unit // (2 * MEAN_RES)) / (unit // MEAN_RES)).astype(np.int64)
        scale = np.floor((h[:, 1] + unit // (2 * SCALE_RES)) / (unit // SCALE_RES)).astype(np.int64)
        mean = np.clip(mean, -MEAN_RES * Q, MEAN_RES * Q)
        scale = np.clip(scale - round(LOG_SCALE_MIN * SCALE_RES), 0, NUM_SCALES - 1)
        return mean, scale


@lru_cache(maxsize=1)
def tables() -> np.ndarray:
    """The ``(NUM_TABLES, ALPHABET)`` float64 probabilities (unnormalized): table ``k * 4 + f``
    is the Laplace of scale ``b_k`` centred at ``f / 4``, integrated over each symbol's unit
    interval, with every mass at least ``2**-60`` (so any symbol can be coded)."""
    r = np.arange(-2 * Q, 2 * Q + 1, dtype=np.int64)
    reach = MEAN_RES * (2 * Q + 2)
    out = np.empty((NUM_TABLES, ALPHABET))
    for k, rq in enumerate(RHO_Q):
        rho = rq / 2.0**32
        powers = [1.0]
        for _ in range(reach):
            powers.append(powers[-1] * rho)
        pw = np.asarray(powers)
        for f in range(MEAN_RES):
            lo = MEAN_RES * r - MEAN_RES // 2 - f  # interval ends relative to the mean, in quarters
            hi = lo + MEAN_RES
            upper = hi <= 0
            lower = lo >= 0
            mid = ~(upper | lower)
            mass = np.empty(ALPHABET)
            mass[upper] = 0.5 * pw[-hi[upper]] - 0.5 * pw[-lo[upper]]
            mass[lower] = 0.5 * pw[lo[lower]] - 0.5 * pw[hi[lower]]
            mass[mid] = (1.0 - 0.5 * pw[hi[mid]]) - 0.5 * pw[-lo[mid]]
            out[k * MEAN_RES + f] = np.maximum(mass, 2.0**-60)
    return out


@lru_cache(maxsize=NUM_TABLES)
def _model(table: int):
    return constriction.stream.model.Categorical(tables()[table], perfect=False)


def padded(values: np.ndarray) -> np.ndarray:
    return np.pad(values.astype(np.int64), PAD)


def gather(grid: np.ndarray, t: np.ndarray, y: np.ndarray, x: np.ndarray, offsets: tuple[Offset, ...]) -> np.ndarray:
    """Neighbour values ``(n, K)`` of latents at ``(t, y, x)`` in a :func:`padded` (contiguous)
    grid, in one indexing of the flat grid."""
    _, rows, cols = grid.shape
    centre = ((t + PAD) * rows + (y + PAD)) * cols + (x + PAD)
    deltas = np.array([(dt * rows + dy) * cols + dx for dt, dy, dx in offsets], dtype=np.int64)
    return grid.reshape(-1)[centre[:, None] + deltas[None, :]]


def _runs(keys: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A stable order by ``keys`` and the ``(start, stop)`` runs of equal keys in it."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    bounds = np.concatenate([[0], cuts, [len(keys)]])
    return order, [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def encode_level(values: np.ndarray, context: IntegerContext, level: int = 0) -> np.ndarray:
    """The ANS words (uint32) of latent level ``level``'s grid ``values`` (T, H, W), in [-Q, Q]."""
    if values.size and np.abs(values).max() > Q:
        raise ValueError(f"latents must lie in [-{Q}, {Q}]")
    passes, classes = context.scheme.passes(values.shape)
    grid = padded(values)
    flat = values.reshape(-1).astype(np.int64)
    keys = np.empty(flat.size, dtype=np.int64)
    symbols = np.empty(flat.size, dtype=np.int64)
    tables_of = np.empty(flat.size, dtype=np.int64)
    for c, offsets in enumerate(context.scheme.classes):
        at = np.flatnonzero(classes.reshape(-1) == c)
        t, y, x = np.unravel_index(at, values.shape)
        mean, scale = context.predict(c, gather(grid, t, y, x, offsets), level)
        table = scale * MEAN_RES + (mean & (MEAN_RES - 1))
        tables_of[at] = table
        symbols[at] = flat[at] - (mean >> 2) + 2 * Q
        keys[at] = passes.reshape(-1)[at] * NUM_TABLES + table
    order, runs = _runs(keys)
    coder = constriction.stream.stack.AnsCoder()
    for a, b in reversed(runs):
        idx = order[a:b]
        coder.encode_reverse(symbols[idx].astype(np.int32), _model(int(tables_of[idx[0]])))
    return coder.get_compressed()


def decode_level(words: np.ndarray, shape: tuple[int, int, int], context: IntegerContext,
                 chunk: int | None = None, level: int = 0) -> np.ndarray:
    """Inverse of :func:`encode_level`: the grid of ``shape``; a stream that does not decode to
    latents in range, or leaves words over, is a :class:`BitstreamError`."""
    def fail(message: str) -> BitstreamError:
        return BitstreamError(f"latent data: {message}", chunk=chunk)

    coder = guarded(fail, constriction.stream.stack.AnsCoder, np.ascontiguousarray(words, dtype=np.uint32))
    passes, classes = context.scheme.passes(shape)
    grid = padded(np.zeros(shape, dtype=np.int64))
    pass_flat, class_flat = passes.reshape(-1), classes.reshape(-1)
    order, runs = _runs(pass_flat)
    for a, b in runs:
        at = order[a:b]
        for c in np.unique(class_flat[at]):
            mine = at[class_flat[at] == c]
            t, y, x = np.unravel_index(mine, shape)
            mean, scale = context.predict(int(c), gather(grid, t, y, x, context.scheme.classes[int(c)]), level)
            table = scale * MEAN_RES + (mean & (MEAN_RES - 1))
            sub, table_runs = _runs(table)
            for ta, tb in table_runs:
                pick = sub[ta:tb]
                symbols = guarded(fail, coder.decode, _model(int(table[pick[0]])), tb - ta)
                latents = np.asarray(symbols).astype(np.int64) + (mean[pick] >> 2) - 2 * Q
                if latents.size and np.abs(latents).max() > Q:
                    raise fail("a latent out of range")
                grid[t[pick] + PAD, y[pick] + PAD, x[pick] + PAD] = latents
    if not coder.is_empty():
        raise fail("longer than its grid")
    return grid[PAD:-PAD, PAD:-PAD, PAD:-PAD].copy()


def max_words(shape: tuple[int, int, int]) -> int:
    """Most ANS words a level's data can hold (a guard on hostile lengths): a symbol costs at most
    24 bits (constriction's precision), so one word per latent is ample."""
    return math.prod(shape) + 16
