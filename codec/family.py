"""The interface every model family implements, and what they exchange with the public API."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import QuantizedTensor, read_tensor, write_tensor
from codec.config import FAMILY_OPTIONS, EncodeConfig
from codec.configio import pack_config, unpack_config
from codec.errors import ConfigError
from codec.registry import families_reading
from codec.results import GroupResult

#: Chunk kinds (u8 in the stream). Permanent, like family ids.
CHUNK_NETWORK = 1
CHUNK_EMBEDDINGS = 2
CHUNK_GROUP = 3
CHUNK_SEGMENT = 4

MAX_TENSORS_PER_CHUNK = 4096

ChunkSink = Callable[[int, bytes], None]


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    num_frames: int
    fps: Fraction

    @property
    def pixels(self) -> int:
        return self.width * self.height * self.num_frames


class FrameSource(Protocol):
    """The frames to encode: ``read(offset, count)`` -> (count, H, W, 3) uint8, offset relative."""

    geometry: Geometry

    def read(self, offset: int, count: int) -> np.ndarray: ...


class ChunkSource(Protocol):
    """Read access to a stream's chunks (``bitstream.container.StreamReader`` satisfies it)."""

    chunks: list

    def read_chunk(self, index: int) -> bytes: ...

    def read_chunk_head(self, index: int, n: int) -> bytes:
        """The first ``n`` bytes of a chunk's payload (fewer if it is shorter), unverified."""
        ...


@dataclass(frozen=True)
class FamilyStats:
    """What an encode did, for reports: steps, training-time estimates, per-group details."""

    steps: int
    seconds: float
    estimated_bits: float
    train_psnr: float
    frame_steps_per_second: float
    groups: tuple[GroupResult, ...] = ()


class Decoder(ABC):
    """Renders frames from a stream's chunks."""

    @abstractmethod
    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Yield (n, H, W, 3) uint8 arrays covering frames ``start`` .. ``stop - 1``."""


class Family(ABC):
    """A model family: makes its config, encodes frames into chunks, builds a decoder."""

    name: ClassVar[str]
    family_id: ClassVar[int]
    config_cls: ClassVar[type]
    #: The fields of :data:`codec.config.FAMILY_OPTIONS` this family reads.
    options: ClassVar[frozenset[str]] = frozenset()

    def check_options(self, enc: EncodeConfig) -> None:
        """A family-specific option given to a family that does not read it is a mistake the user
        should hear about (``--gop 8 --model nerv`` would otherwise encode without groups)."""
        for field, flag in FAMILY_OPTIONS.items():
            if getattr(enc, field) is not None and field not in self.options:
                users = families_reading(field)
                raise ConfigError(f"{flag} does not apply to --model {self.name}"
                                  + (f" (only to {', '.join(users)})" if users else ""))

    @abstractmethod
    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> Any:
        """The family's frozen config for this video (presets, --params, strides for its size)."""

    @abstractmethod
    def encode(
        self, config: Any, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
        device: torch.device,
    ) -> FamilyStats:
        """Fit and write every chunk through ``sink``."""

    @abstractmethod
    def decoder(
        self, config: Any, geometry: Geometry, stream: ChunkSource, device: torch.device
    ) -> Decoder:
        """A decoder over ``stream``; it reads chunks lazily where the family allows it."""

    def pack(self, config: Any) -> bytes:
        return pack_config(config)

    def unpack(self, data: bytes) -> Any:
        return unpack_config(self.config_cls, data)

    def describe(self, config: Any) -> dict[str, Any]:
        """Human-readable config for ``inrv info``."""
        from dataclasses import asdict

        return asdict(config)


def pack_tensors(tensors: list[QuantizedTensor]) -> bytes:
    """A chunk payload holding a count and then each tensor record."""
    w = ByteWriter()
    w.uvarint(len(tensors))
    for t in tensors:
        write_tensor(w, t)
    return w.getvalue()


def unpack_tensors(data: bytes, expected: int | None = None, chunk: int | None = None,
                   base_offset: int = 0) -> list[QuantizedTensor]:
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    count = r.uvarint()
    if count > MAX_TENSORS_PER_CHUNK or (expected is not None and count != expected):
        raise BitstreamError(
            f"chunk holds {count} tensors, expected {expected}", chunk=chunk, offset=base_offset
        )
    tensors = [read_tensor(r) for _ in range(count)]
    r.expect_end()
    return tensors


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(B,3,H,W) float in [0,1] -> (B,H,W,3) uint8, rounding to nearest."""
    x = frames.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()
