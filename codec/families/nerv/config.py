"""The stream config of ``nerv`` (packed into the header by :mod:`codec.configio`)."""

from __future__ import annotations

from dataclasses import dataclass

from codec.configio import trailing
from codec.tools.blocks import check_stages, check_trunk


@dataclass(frozen=True)
class NervConfig:
    """Positional-encoding levels, the stem's hidden width and ``c0``-channel base map, then one
    NeRV block per ``(channels, strides, kernels)`` entry; ``trunk``: the blocks' variants
    (:data:`codec.tools.blocks.TRUNK_BITS`), an optional trailing field (0 is not written)."""

    pe_levels: int
    hidden: int
    c0: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    kernels: tuple[int, ...]
    trunk: int = trailing(0)

    def __post_init__(self) -> None:
        if not (1 <= self.pe_levels <= 128 and 1 <= self.hidden <= 8192 and 1 <= self.c0 <= 4096):
            raise ValueError("NeRV stem sizes out of range")
        check_stages("NeRV", self.strides, self.channels, self.kernels)
        check_trunk("NeRV", self.trunk)
