"""The stream config of ``hnerv`` (packed into the header by :mod:`codec.configio`)."""

from __future__ import annotations

from dataclasses import dataclass

from codec.configio import trailing
from codec.tools.blocks import check_stages, check_trunk


@dataclass(frozen=True)
class HnervConfig:
    """Channels of each frame's embedding, then one HNeRV block per ``(channels, strides,
    kernels)`` entry; ``trunk``: the blocks' variants (:data:`codec.tools.blocks.TRUNK_BITS`), an
    optional trailing field (0 is not written)."""

    embed_dim: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    kernels: tuple[int, ...]
    trunk: int = trailing(0)

    def __post_init__(self) -> None:
        if not 1 <= self.embed_dim <= 256:
            raise ValueError("HNeRV embedding size out of range")
        check_stages("HNeRV", self.strides, self.channels, self.kernels)
        check_trunk("HNeRV", self.trunk)
