"""The interface every model family implements, and what it exchanges with the public API.

A family (a package under ``codec/families/``, registered in :mod:`codec.registry`) declares its
options (:attr:`Family.options_cls`), turns them and the video's geometry into its frozen stream
config (:meth:`Family.make_config`), encodes frames into chunks (:meth:`Family.encode`), builds a
decoder over a stream's chunks (:meth:`Family.decoder`), states the memory that decoder needs
(:meth:`Family.decode_memory`) and describes a stream for ``inrv info``.
The decoder side must import nothing of training (no compressai, pytorch_msssim or fitting
loop): a family imports its training modules inside :meth:`Family.encode`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from codec.configio import pack_config, unpack_config
from codec.options import Options
from codec.results import GroupResult

if TYPE_CHECKING:
    import numpy as np
    import torch

    from codec.config import EncodeConfig
    from codec.tools.ladder import Ladder
    from codec.tools.structure import CodingStructure

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

    def read(self, offset: int, count: int) -> "np.ndarray": ...


class ChunkSource(Protocol):
    """Read access to a stream's chunks (``bitstream.container.StreamReader`` satisfies it)."""

    chunks: list

    def read_chunk(self, index: int) -> bytes: ...

    def read_chunk_head(self, index: int, n: int) -> bytes:
        """The first ``n`` bytes of a chunk's payload (fewer if it is shorter), unverified."""
        ...


@dataclass(frozen=True)
class FamilyStats:
    """What an encode did, for reports: steps, training-time estimates, per-group details, and the
    rate-distortion lambda it trained with (``None`` for a family without one). ``best_psnr``: the
    best running training PSNR the fit saw (``None``: not reported; the encoder's final check then
    compares with ``train_psnr``), ``restarts``: the divergence guards' restarts, ``restored``: the
    guards' end check put the best snapshot back (:class:`codec.tools.fit.FitStats`), ``jobs``: the
    most tasks it ran at once (:mod:`codec.tools.schedule`)."""

    steps: int
    seconds: float
    estimated_bits: float
    train_psnr: float
    frame_steps_per_second: float
    groups: tuple[GroupResult, ...] = ()
    lmbda: float | None = None
    best_psnr: float | None = None
    restarts: int = 0
    restored: bool = False
    jobs: int = 1

    @classmethod
    def of_groups(cls, groups: list[GroupResult], seconds: float, estimated_bits: float, frame_steps: float,
                  lmbda: float | None, jobs: int = 1) -> "FamilyStats":
        """The stats of a group-wise encode: steps summed, training PSNR the groups' mean, and
        ``frame_steps`` (frames trained, summed over steps) over the training ``seconds``."""
        return cls(steps=sum(g.steps for g in groups), seconds=seconds, estimated_bits=estimated_bits,
                   train_psnr=float(sum(g.psnr for g in groups) / max(1, len(groups))),
                   frame_steps_per_second=frame_steps / max(seconds, 1e-9), groups=tuple(groups), lmbda=lmbda,
                   jobs=jobs)


class Decoder(ABC):
    """Renders frames from a stream's chunks."""

    @abstractmethod
    def render(self, start: int, stop: int) -> Iterator["np.ndarray"]:
        """Yield (n, H, W, 3) uint8 arrays covering frames ``start .. stop - 1``."""


@runtime_checkable
class Laddered(Protocol):
    """What rate control (:mod:`codec.ratecontrol`) and the ladder sweeps (:mod:`eval.ladder`) need
    of a family with a quality ladder (nerv, hnerv, nirvana, grid): the ladder, the frames of a
    probe fit, and the conversion between a rung's length and training steps. Check a family with
    ``isinstance(family, Laddered)``."""

    #: ``--quality`` as rungs of (size, lambda, length) (:mod:`codec.tools.ladder`).
    ladder: "Ladder"

    def probe_frames(self, enc: "EncodeConfig", count: int) -> int:
        """Frames of a rate-control probe fit on a clip of ``count`` frames."""
        ...

    def ladder_steps(self, length: float, frames: int) -> int:
        """Training steps for a rung's ``length`` on ``frames`` frames."""
        ...

    def ladder_length(self, steps: int, frames: int) -> float:
        """A rung's length for ``steps`` on ``frames`` frames (the inverse of :meth:`ladder_steps`)."""
        ...


class Family(ABC):
    """A model family: declares its options, makes its config, encodes frames into chunks, builds
    a decoder. ``summary``: what the family is for, in a line (``inrv encode --help``, docs).
    ``options_cls``, ``summary`` and ``streams`` are its package's ``OPTIONS``, ``SUMMARY`` and
    ``STREAMS`` (:class:`codec.registry.Declaration`; the registry checks that they agree)."""

    name: ClassVar[str]
    family_id: ClassVar[int]
    config_cls: ClassVar[type]
    options_cls: ClassVar[type[Options]] = Options
    summary: ClassVar[str] = ""
    #: True: :meth:`encode` reads the source group by group (memory bounded by a group, a pipe read
    #: as it comes); False: it reads the whole clip at once.
    streams: ClassVar[bool] = False
    #: Options of a small, fast encode (seconds on a CPU): what the contract tests and the golden
    #: streams of ``tests/codec`` use.
    quick_options: ClassVar[Mapping[str, Any]] = {}
    #: Whether ``EncodeConfig.seed`` changes what an encode produces (False: nothing is random,
    #: as in a forward-pass encoder).
    seeded: ClassVar[bool] = True
    #: How far training's rate estimate (``FamilyStats.estimated_bits``) may be from the written
    #: file's bits, relative (``|estimate / file - 1|``), on the small check encodes of
    #: ``tests/codec/rd_checks.py``, where what training does not count (header, framing, step
    #: sizes, entropy-model tables) weighs most. ``None``: the family has no training-time estimate
    #: comparable to the file. No default: every family decides, next to its reason (a test checks).
    rate_estimate_tolerance: ClassVar[float | None]
    #: Why ``--jobs`` / ``--ray`` cannot spread this family's encode over processes (it then runs
    #: as one job, with a note saying this), or None for a family whose :meth:`encode` runs its
    #: coding structure's frames as jobs (:mod:`codec.tools.schedule`). No default: every family
    #: says which it is.
    serial_reason: ClassVar[str | None]

    @abstractmethod
    def make_config(self, enc: "EncodeConfig", geometry: Geometry) -> Any:
        """The family's frozen config for this video (from ``enc.quality`` and ``enc.options``)."""

    @abstractmethod
    def encode(self, config: Any, source: FrameSource, enc: "EncodeConfig", sink: ChunkSink,
               device: "torch.device") -> FamilyStats:
        """Fit (or predict) and write every chunk through ``sink``."""

    @abstractmethod
    def decoder(self, config: Any, geometry: Geometry, stream: ChunkSource, device: "torch.device") -> Decoder:
        """A decoder over ``stream``; it reads chunks lazily where the family allows it."""

    def pack(self, config: Any) -> bytes:
        return pack_config(config)

    def unpack(self, data: bytes) -> Any:
        return unpack_config(self.config_cls, data)

    def describe(self, config: Any) -> dict[str, Any]:
        """Human-readable config for ``inrv info``."""
        return asdict(config)

    @abstractmethod
    def decode_memory(self, config: Any, geometry: Geometry) -> int:
        """Bytes decoding a stream of this config and geometry allocates at its peak, beyond what the
        process holds before (the interpreter, torch, the family's shipped weights), from the config
        and geometry alone: :func:`codec.api.decode` and :meth:`codec.api.CodedVideo.decoder` refuse a
        stream over ``--max-memory`` with it before anything is allocated. An upper bound of what the
        decoder does (the contract tests measure it): the largest of its phases (state read from the
        chunks, the working set of rendering one unit, the output frames of a unit and the
        reference frames it keeps); a decoder that renders in tiles states the tiles' working set
        (:mod:`codec.tools.decodememory`). May raise BitstreamError for a config the decoder
        refuses anyway."""

    def describe_chunks(self, config: Any, geometry: Geometry, stream: ChunkSource,
                        values: bool = False) -> str | None:
        """Anything ``inrv info`` should add about the chunks (a table per group, say); None: nothing.
        Only sizes, the chunk heads and what the config implies, nothing in proportion to what a
        header claims; ``values`` (``inrv info --verify``, after the memory check): also what takes
        decoding the values (the share of non-zero residuals, say)."""
        return None

    def structure(self, config: Any, geometry: Geometry, stream: ChunkSource) -> "CodingStructure | None":
        """The stream's coding structure (:mod:`codec.tools.structure`: frames in coding order, their
        types, references, depths and chunks), from the config and at most the chunks' heads; None
        for a family without one (a whole-clip network)."""
        return None
