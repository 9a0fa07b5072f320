"""The stream config of ``hnerv`` (packed into the header by :mod:`codec.configio`)."""

from __future__ import annotations

from dataclasses import dataclass

from codec.tools.blocks import check_stages


@dataclass(frozen=True)
class HnervConfig:
    """Channels of each frame's embedding, then one HNeRV block per ``(channels, strides,
    kernels)`` entry."""

    embed_dim: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    kernels: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.embed_dim <= 256:
            raise ValueError("HNeRV embedding size out of range")
        check_stages("HNeRV", self.strides, self.channels, self.kernels)
