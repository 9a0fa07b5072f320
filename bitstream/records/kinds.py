"""The chunk kinds (u8 in each chunk's frame, ``docs/bitstream.md`` §9): permanent, like family
ids. Never renumber one; a new kind takes the next free code and a row in :data:`KINDS`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChunkKind", "KINDS", "CHUNK_NAMES", "CHUNK_NETWORK", "CHUNK_EMBEDDINGS", "CHUNK_GROUP",
           "CHUNK_SEGMENT", "CHUNK_GRID", "CHUNK_FRAME", "kinds_of"]


@dataclass(frozen=True)
class ChunkKind:
    """One chunk kind: its code in the stream, its name (``inrv info``), the families that write
    it (registered family names) and the module of :mod:`bitstream.records` that holds its records."""

    code: int
    name: str
    families: tuple[str, ...]
    records: str


CHUNK_NETWORK = 1
CHUNK_EMBEDDINGS = 2
CHUNK_GROUP = 3
CHUNK_SEGMENT = 4
CHUNK_GRID = 5
CHUNK_FRAME = 6

#: Every chunk kind, by code.
KINDS: tuple[ChunkKind, ...] = (
    ChunkKind(CHUNK_NETWORK, "network", ("nerv", "hnerv"), "bitstream.records.tensorlist"),
    ChunkKind(CHUNK_EMBEDDINGS, "embeddings", ("hnerv",), "bitstream.records.tensorlist"),
    ChunkKind(CHUNK_GROUP, "group", ("nirvana",), "bitstream.records.nirvana"),
    ChunkKind(CHUNK_SEGMENT, "segment", ("teconerv",), "bitstream.records.teconerv"),
    ChunkKind(CHUNK_GRID, "grid", ("grid",), "bitstream.records.grid"),
    ChunkKind(CHUNK_FRAME, "frame", ("motion",), "bitstream.records.motion"),
)
#: code -> name, for every kind.
CHUNK_NAMES: dict[int, str] = {k.code: k.name for k in KINDS}


def kinds_of(family: str) -> tuple[ChunkKind, ...]:
    """The kinds a family writes, by code."""
    return tuple(k for k in KINDS if family in k.families)
