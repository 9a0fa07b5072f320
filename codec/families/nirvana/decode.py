"""Decoder side of ``nirvana``: the latent chain of group records, rendered group by group.

Decoding frames of group ``g`` adds the residuals of groups ``0..g`` (integer adds, no rendering)
and renders only the groups asked for. Nothing here trains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_GROUP
from bitstream.records.nirvana import GROUP_HEAD_BYTES, GroupRecord, LayerDecoder, read_group, read_group_head
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.nirvana.config import MAX_DECODE_VALUES, NirvanaConfig
from codec.families.nirvana.net import NirvanaNet
from codec.tools.chain import ChainDecoder, add_codes
from codec.tools.patches import PatchGrid, render_patches
from codec.tools.sizing import checked_shell
from codec.tools.dequantize import layer_weights
from codec.tools.structure import CodingStructure, groups


@dataclass(frozen=True)
class GroupState:
    """Group ``g``'s latents (the previous group's plus its residuals, integer adds only) and the
    decoders of group 0's chunk."""

    codes: tuple[np.ndarray, ...]
    decoders: tuple[LayerDecoder, ...]


def group_chunks(stream: ChunkSource) -> list[int]:
    return [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_GROUP]


def structure(config: NirvanaConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
    """Groups of ``min(gop, frames left)`` frames unless a chunk's head gives its count (a group
    cut short at a scene cut), each a residual of the one before."""
    total, counts, first = geometry.num_frames, [], 0
    chunk_index = group_chunks(stream)
    for index in chunk_index:
        if first >= total:
            break
        info = stream.chunks[index]
        # the head only: opening reads a few bytes per group, not the whole file
        # (the chunk's CRC, which covers the head, is checked when the group is decoded)
        _, head = read_group_head(stream.read_chunk_head(index, GROUP_HEAD_BYTES), index, info.payload_offset)
        regular = min(config.gop, total - first)
        count = regular if head.frames is None else head.frames
        if count > regular:
            raise BitstreamError(f"group chunk holds {count} frames, at most {regular} fit", chunk=index)
        counts.append(count)
        first += count
    if first < total:
        raise BitstreamError(f"stream holds {len(chunk_index)} group chunks, covering {first} "
                             f"of its {total} frames")
    if len(counts) != len(chunk_index):
        raise BitstreamError(f"stream holds {len(chunk_index)} group chunks, its {total} frames "
                             f"need {len(counts)}")
    return groups(total, config.gop, counts)


class NirvanaDecoder(Decoder):
    """Renders frame ranges, its chain decoder keeping the latents of the last groups it reached
    (:class:`codec.tools.chain.ChainDecoder`)."""

    def __init__(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                 device: torch.device) -> None:
        self.stream, self.device = stream, device
        self.grid = PatchGrid(geometry.height, geometry.width, config.patch)
        self.chunk_index = group_chunks(stream)
        self.structure = structure(config, geometry, stream)
        self.plan = [(c.first, c.count) for c in self.structure.chunks]
        checked_shell(lambda: NirvanaNet(config, self.grid), MAX_DECODE_VALUES, " per group")
        self.net = NirvanaNet(config, self.grid).to(device).eval()
        self.shapes = [tuple(p.shape) for p in self.net.parameters()]
        self.chain = ChainDecoder(self.structure, self._step)
        self.state: GroupState | None = None

    def record(self, g: int) -> GroupRecord:
        index = self.chunk_index[g]
        info = self.stream.chunks[index]
        return read_group(self.stream.read_chunk(index), self.shapes, index, info.payload_offset)

    def _step(self, base: GroupState | None, g: int) -> GroupState:
        record = self.record(g)
        if base is None and record.decoders is None:
            raise BitstreamError("the first group chunk must carry the decoders", chunk=self.chunk_index[g])
        decoders = record.decoders if record.decoders is not None else base.decoders
        codes = add_codes(None if base is None else base.codes, record.residuals, "latents", self.chunk_index[g])
        return GroupState(tuple(codes), decoders)

    def advance(self, g: int) -> None:
        """Make group ``g``'s latents the current ones."""
        self.state = self.chain.state(g)

    @property
    def codes(self) -> tuple[np.ndarray, ...]:
        assert self.state is not None
        return self.state.codes

    def load(self) -> None:
        """Set the network to the current latents: ``scale * (M code) + shift`` in float32
        (:func:`codec.tools.dequantize.layer_weights`; ``M`` only for convs with a kernel map)."""
        assert self.state is not None
        with torch.no_grad():
            for p, codes, decoder in zip(self.net.parameters(), self.state.codes, self.state.decoders):
                p.copy_(layer_weights(decoder, codes))

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """The groups holding frames ``start .. stop - 1`` (the structure's :meth:`needed`), each
        rendered from its latents (only the frames asked for are kept); the groups before them
        only add their residuals."""
        for g in self.structure.needed(start, stop).rendered:
            first, count = self.plan[g]
            self.advance(g)
            self.load()
            yield render_patches(self.net, self.grid, count, self.device, first=max(start, first) - first,
                                 stop=min(stop, first + count) - first)

