"""Latent pyramids: the shapes of a stack of latent grids at halving resolutions and the factors
that upsample each back to the frame, after C3 (Kim et al., CVPR 2024) and Cool-chic (Ladune et
al., ICCV 2023).

A 3-D pyramid covers a group of frames: level ``k`` has ``2**-k`` of the frame's width and height
and ``2**-min(k, temporal)`` of the group's frames (sides rounded up, so that a level covers at
least the frames). A 2-D pyramid covers one image: level ``k`` at ``2**-k`` of the frame. A 2-D
pyramid is a 3-D one of one frame and ``temporal`` 0 (shapes ``(1, h, w)``, factors ``(1, 2**k)``):
:meth:`Pyramid.shapes` gives its levels as ``(h, w)``, the functions that take levels accept both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pyramid:
    """``levels`` latent grids; ``temporal``: the temporal halvings of a 3-D pyramid (level ``k``
    spans ``2**min(k, temporal)`` frames), ``None`` for a 2-D one (one image)."""

    levels: int
    temporal: int | None = None

    def __post_init__(self) -> None:
        if self.levels < 1 or (self.temporal is not None and self.temporal < 0):
            raise ValueError("a latent pyramid has at least one level and no negative temporal halvings")

    @classmethod
    def image(cls, levels: int) -> "Pyramid":
        """A 2-D pyramid of ``levels`` levels."""
        return cls(levels, None)

    @property
    def spatial_only(self) -> bool:
        return self.temporal is None

    def shapes(self, height: int, width: int, frames: int = 1) -> list[tuple[int, ...]]:
        """Each level's shape: ``(frames, height, width)`` of a 3-D pyramid over ``frames`` frames,
        ``(height, width)`` of a 2-D one."""
        if self.temporal is None:
            return [(math.ceil(height / 2**k), math.ceil(width / 2**k)) for k in range(self.levels)]
        return [(math.ceil(frames / 2 ** min(k, self.temporal)), math.ceil(height / 2**k), math.ceil(width / 2**k))
                for k in range(self.levels)]

    def factors(self) -> list[tuple[int, int]]:
        """``(temporal, spatial)`` upsampling factor of each level: ``(2**min(k, temporal), 2**k)``;
        a 2-D pyramid's are ``(1, 2**k)``."""
        temporal = 0 if self.temporal is None else self.temporal
        return [(2 ** min(k, temporal), 2**k) for k in range(self.levels)]

    def latents_per_pixel(self, height: int, width: int, frames: int = 1) -> float:
        """Latents of the pyramid per pixel of the frames it covers."""
        return sum(math.prod(s) for s in self.shapes(height, width, frames)) / (frames * height * width)
