"""Decoder side of ``nirvana``: the latent chain of group records, rendered group by group.

Decoding frames of group ``g`` adds the residuals of groups ``0..g`` (integer adds, no rendering)
and renders only the groups asked for. Nothing here trains.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_GROUP
from bitstream.records.nirvana import GROUP_HEAD_BYTES, GroupRecord, LayerDecoder, read_group, read_group_head
from bitstream.tensor import MAX_CODE
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.nirvana.config import MAX_DECODE_VALUES, NirvanaConfig
from codec.families.nirvana.net import NirvanaNet
from codec.tools.patches import PatchGrid, render_patches
from codec.tools.sizing import checked_shell
from codec.tools.dequantize import layer_weights


class NirvanaDecoder(Decoder):
    """Renders frame ranges, keeping the latent chain of the last group it reached."""

    def __init__(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                 device: torch.device) -> None:
        self.stream, self.device = stream, device
        self.grid = PatchGrid(geometry.height, geometry.width, config.patch)
        self.chunk_index = [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_GROUP]
        self.plan = self._plan(geometry.num_frames, config.gop)
        checked_shell(lambda: NirvanaNet(config, self.grid), MAX_DECODE_VALUES, " per group")
        self.net = NirvanaNet(config, self.grid).to(device).eval()
        self.shapes = [tuple(p.shape) for p in self.net.parameters()]
        self._reset()

    def _plan(self, total: int, gop: int) -> list[tuple[int, int]]:
        """``(first frame, count)`` of each group chunk: ``min(gop, frames left)`` unless the chunk
        gives its count (a group cut short at a scene cut)."""
        plan, first = [], 0
        for index in self.chunk_index:
            if first >= total:
                break
            info = self.stream.chunks[index]
            # the head only: opening reads a few bytes per group, not the whole file
            # (the chunk's CRC, which covers the head, is checked when the group is decoded)
            _, head = read_group_head(self.stream.read_chunk_head(index, GROUP_HEAD_BYTES), index,
                                      info.payload_offset)
            regular = min(gop, total - first)
            count = regular if head.frames is None else head.frames
            if count > regular:
                raise BitstreamError(f"group chunk holds {count} frames, at most {regular} fit", chunk=index)
            plan.append((first, count))
            first += count
        if first < total:
            raise BitstreamError(f"stream holds {len(self.chunk_index)} group chunks, covering {first} "
                                 f"of its {total} frames")
        if len(plan) != len(self.chunk_index):
            raise BitstreamError(f"stream holds {len(self.chunk_index)} group chunks, its {total} frames "
                                 f"need {len(plan)}")
        return plan

    def _reset(self) -> None:
        self.group = -1
        self.codes = [np.zeros(s, dtype=np.int64) for s in self.shapes]
        self.decoders: tuple[LayerDecoder, ...] | None = None

    def record(self, g: int) -> GroupRecord:
        index = self.chunk_index[g]
        info = self.stream.chunks[index]
        return read_group(self.stream.read_chunk(index), self.shapes, index, info.payload_offset)

    def advance(self, g: int) -> None:
        """Latents of group ``g``: the previous latents plus each residual (integer adds only)."""
        if g < self.group:
            self._reset()
        while self.group < g:
            record = self.record(self.group + 1)
            self.group += 1
            if self.group == 0 and record.decoders is None:
                raise BitstreamError("the first group chunk must carry the decoders", chunk=self.chunk_index[0])
            if record.decoders is not None:
                self.decoders = record.decoders
            self.codes = [c + r for c, r in zip(self.codes, record.residuals)]
            if any(np.abs(c).max(initial=0) >= MAX_CODE for c in self.codes):
                raise BitstreamError("latents out of range", chunk=self.chunk_index[self.group])

    def load(self) -> None:
        """Set the network to the current latents: ``scale * (M code) + shift`` in float32
        (:func:`codec.tools.dequantize.layer_weights`; ``M`` only for convs with a kernel map)."""
        assert self.decoders is not None
        with torch.no_grad():
            for p, codes, decoder in zip(self.net.parameters(), self.codes, self.decoders):
                p.copy_(layer_weights(decoder, codes))

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        for g, (first, count) in enumerate(self.plan):
            if first + count <= start or first >= stop:
                continue
            self.advance(g)
            self.load()
            frames = render_patches(self.net, self.grid, count, self.device)
            yield frames[max(start, first) - first : min(stop, first + count) - first]


def group_table(decoder: NirvanaDecoder, geometry: Geometry) -> str:
    """The per-group table of ``inrv info``: frames, training steps, bytes, bpp, the share of
    non-zero residual latents, and what the decoders in group 0's chunk cost."""
    lines = [f"{'group':>5} {'frames':>11} {'steps':>7} {'bytes':>9} {'bpp':>9} {'nonzero':>8}"]
    decoders: tuple[LayerDecoder, ...] = ()
    for g, ((first, count), index) in enumerate(zip(decoder.plan, decoder.chunk_index)):
        info = decoder.stream.chunks[index]
        record = decoder.record(g)
        nonzero = sum(int(np.count_nonzero(r)) for r in record.residuals)
        share = nonzero / max(1, sum(r.size for r in record.residuals))
        nbytes = info.total
        lines.append(f"{g:>5} {first:>5}..{first + count - 1:<5} {record.steps:>7} {nbytes:>9} "
                     f"{nbytes * 8 / (geometry.width * geometry.height * count):>9.5f} {share:>8.2%}"
                     + ("  ends at a scene cut" if record.frames is not None else ""))
        if record.decoders is not None:
            decoders = record.decoders
    maps = [d.kernel for d in decoders if d.kernel is not None]
    lines.append(f"decoders (in group 0's chunk): scale and shift for {len(decoders)} tensors "
                 f"({8 * len(decoders)} bytes), "
                 + (f"kernel maps for {len(maps)} convolutions ({sum(2 * m.size for m in maps)} bytes)"
                    if maps else "no kernel maps"))
    return "\n".join(lines)
