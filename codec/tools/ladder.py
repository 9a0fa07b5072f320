"""Quality ladders: what each ``--quality`` level means for a family that fits networks.

A level is a :class:`Rung`: a network size, a rate-distortion lambda and a default training
length, chosen together. The papers draw their rate-distortion curves over model sizes;
a lambda alone on one network size gives a curve that goes flat (finer quantization of a
network that cannot hold more). Ladders are data, measured by ``scripts/sweep_ladder.py``
(:mod:`eval.ladder`): the points on the upper convex hull of PSNR against rate over a grid of
(size, lambda) on the sample clips, spread along the rate axis.

Sizes are densities, so that a level means about the same rate on any clip: stored values per
pixel of the clip for the whole-clip families (nerv, hnerv), per pixel of a group for nirvana;
the family multiplies by its pixel count and clamps. Lengths are in the family's unit, chosen
so that a level means about the same quality on any clip length: epochs (passes over the clip's
frames) for the whole-clip families, the first group's steps for nirvana (whose groups have a
fixed size).

Between levels (a fractional quality, which rate control uses) size, lambda and length are
interpolated geometrically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codec.errors import ConfigError


@dataclass(frozen=True)
class Rung:
    """One level: ``size`` (a density, see the module), ``lmbda`` (loss = D + lambda * bpp) and the
    default training ``length`` (in the family's unit, see the module)."""

    size: float
    lmbda: float
    length: float

    def __post_init__(self) -> None:
        if not (self.size > 0 and self.lmbda > 0 and self.length > 0):
            raise ValueError("a ladder rung needs size > 0, lambda > 0 and length > 0")


@dataclass(frozen=True)
class Ladder:
    """Rungs for quality 1, 2, ... (rising rate and quality). ``measured``: the command that
    measured them, for the record."""

    rungs: tuple[Rung, ...]
    measured: str = ""

    def __post_init__(self) -> None:
        if len(self.rungs) < 2:
            raise ValueError("a ladder needs at least two rungs")
        for lo, hi in zip(self.rungs, self.rungs[1:]):
            if hi.size < lo.size or hi.lmbda > lo.lmbda or hi.length < lo.length:
                raise ValueError("a ladder's rungs must grow in size and length and fall in lambda")

    @property
    def top(self) -> int:
        return len(self.rungs)

    def at(self, quality: float) -> Rung:
        """The rung of ``quality`` (1 .. :attr:`top`); between two levels, the interpolation."""
        if not 1 <= quality <= self.top:
            raise ConfigError(f"quality must be in 1..{self.top}, got {quality:g}")
        low = min(int(math.floor(quality)), self.top - 1)
        frac = quality - low
        a, b = self.rungs[low - 1], self.rungs[low]
        if frac == 0:
            return a
        if frac == 1:
            return b
        return Rung(size=a.size * (b.size / a.size) ** frac, lmbda=a.lmbda * (b.lmbda / a.lmbda) ** frac,
                    length=a.length * (b.length / a.length) ** frac)
