"""The integer context model of latent grids: fixed-point arithmetic, tables, shapes.

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
docs/bitstream.md (grid records, "Latents") specifies it; the neighbourhoods are
:mod:`codec.tools.latentgrid.schemes`, the coding of a level :mod:`codec.tools.latentgrid.coding`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import constriction
import numpy as np

from bitstream import BitstreamError
from codec.tools.latentgrid.schemes import Scheme

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


def context_macs(scheme: Scheme, hidden: int, layers: int) -> float:
    """Multiply-adds of the context networks per latent: each class's weights, averaged over the
    classes (a checkerboard's two weigh by their share of the latents, one half each)."""
    per_class = [sum(s[0] * s[1] for s in layer_shapes(len(offsets), hidden, layers) if len(s) == 2)
                 for offsets in scheme.classes]
    return sum(per_class) / len(per_class)


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

    def predict(self, cls: int, features: np.ndarray, level: int | np.ndarray = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(mean in quarters, scale index)`` of latents of ``level`` with neighbour ``features`` (n, K);
        ``level`` an array: each row's level (rows are independent: the same integers either way)."""
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
def table_model(table: int) -> constriction.stream.model.Categorical:
    """Table ``table`` of :func:`tables` as constriction's categorical model (built once)."""
    return constriction.stream.model.Categorical(tables()[table], perfect=False)


