"""Decoder side of ``grid``: the chain of network residuals, each group's latents decoded under
its context model, upsampled and synthesized. Nothing here trains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.grid import GridRecord, read_grid
from bitstream.records.kinds import CHUNK_GRID
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.grid.config import GridConfig
from codec.families.grid.net import (
    Synthesis,
    decoder_macs,
    level_factors,
    level_shapes,
    load_synthesis,
    render,
    synthesis_shapes,
)
from codec.tools.chain import ChainDecoder, add_codes
from codec.tools.latentgrid import SCHEMES, IntegerContext, context_shapes, decode_level, max_words
from codec.tools.structure import CodingStructure, group_count, groups
from codec.tools.tiles import frames_at_once


@dataclass(frozen=True)
class GridState:
    """What group ``g``'s chunk leaves decoded: the networks' codes (the previous group's plus its
    residuals), the synthesis steps (group 0's) and the group's record (its latents' words)."""

    synthesis: tuple[np.ndarray, ...]
    context: tuple[np.ndarray, ...]
    steps: np.ndarray
    record: GridRecord


def grid_chunks(stream: ChunkSource) -> list[int]:
    return [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_GRID]


def structure(config: GridConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
    """Groups of ``gop`` frames, one chunk each, each a residual of the one before (the chunks
    counted before a structure of the frames the header claims is built)."""
    found, need = len(grid_chunks(stream)), group_count(geometry.num_frames, config.gop)
    if found != need:
        raise BitstreamError(f"stream holds {found} grid chunks, its {geometry.num_frames} "
                             f"frames in groups of {config.gop} need {need}")
    return groups(geometry.num_frames, config.gop)


class GridDecoder(Decoder):
    """Renders frame ranges group by group, its chain decoder keeping the networks of the last
    groups it reached (:class:`codec.tools.chain.ChainDecoder`)."""

    def __init__(self, config: GridConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> None:
        self.config, self.geometry, self.stream, self.device = config, geometry, stream, device
        self.scheme = SCHEMES[config.scheme]
        self.chunk_index = grid_chunks(stream)
        self.structure = structure(config, geometry, stream)
        self.plan = [(c.first, c.count) for c in self.structure.chunks]
        self.synthesis_shapes = synthesis_shapes(config)
        self.context_shapes = context_shapes(self.scheme, config.ctx_hidden, config.ctx_layers, config.bias_levels)
        self.net = Synthesis(config).to(device).eval()
        self.chain = ChainDecoder(self.structure, self._step)

    def shapes(self, g: int) -> list[tuple[int, int, int]]:
        return level_shapes(self.config, self.plan[g][1], self.geometry.height, self.geometry.width)

    def record(self, g: int) -> GridRecord:
        index = self.chunk_index[g]
        return read_grid(self.stream.read_chunk(index), self.synthesis_shapes, self.context_shapes,
                         [max_words(s) for s in self.shapes(g)], index, self.stream.chunks[index].payload_offset)

    def _step(self, base: GridState | None, g: int) -> GridState:
        """Networks of group ``g``: the previous group's codes plus its residuals."""
        record = self.record(g)
        if base is None and record.synthesis_steps is None:
            raise BitstreamError("the first grid chunk must carry the synthesis steps", chunk=self.chunk_index[g])
        steps = record.synthesis_steps if record.synthesis_steps is not None else base.steps
        synthesis = add_codes(None if base is None else base.synthesis, record.synthesis, "synthesis weights",
                              self.chunk_index[g])
        context = record.context if base is None else [c + r for c, r in zip(base.context, record.context)]
        return GridState(tuple(synthesis), tuple(context), steps, record)

    def latents(self, g: int) -> list[np.ndarray]:
        """Group ``g``'s latent grids (integers)."""
        state, config = self.chain.state(g), self.config
        context = IntegerContext.from_codes(self.scheme, list(state.context), config.ctx_hidden, config.ctx_layers,
                                            config.bias_levels)
        return [decode_level(words, shape, context, self.chunk_index[g], k)
                for k, (words, shape) in enumerate(zip(state.record.levels, self.shapes(g)))]

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """The groups holding frames ``start .. stop - 1`` (the structure's :meth:`needed`), each
        rendered from its state; the groups before them only add their codes. A group's frames
        are rendered a few at a time (:func:`codec.tools.tiles.frames_at_once`), each in strips
        of rows when it is larger than one (:func:`codec.families.grid.net.render`)."""
        per = frames_at_once(self.geometry.height, self.geometry.width)
        for g in self.structure.needed(start, stop).rendered:
            first, count = self.plan[g]
            latents = [torch.from_numpy(y).to(self.device) for y in self.latents(g)]
            state = self.chain.state(g)
            net = load_synthesis(self.net, list(state.synthesis), state.steps)
            lo, hi = max(start, first) - first, min(stop, first + count) - first
            for a in range(lo, hi, per):
                yield render(net, latents, level_factors(self.config), count, self.geometry.height,
                             self.geometry.width, a, min(hi, a + per))


def group_table(decoder: GridDecoder) -> str:
    """The per-group table of ``inrv info``: frames, training steps, bytes and bpp, then the bytes
    of the synthesis and context networks and of each latent level; and the decoder's
    multiply-adds per pixel, counted from the shapes."""
    config, geometry = decoder.config, decoder.geometry
    levels = [f"L{k}" for k in range(config.levels)]
    lines = [f"{'group':>5} {'frames':>11} {'steps':>6} {'bytes':>8} {'bpp':>8} {'synth':>6} {'ctx':>5} "
             + " ".join(f"{n:>7}" for n in levels)]
    for g, ((first, count), index) in enumerate(zip(decoder.plan, decoder.chunk_index)):
        record = decoder.record(g)
        nbytes = decoder.stream.chunks[index].total
        head, synth, ctx, *per_level = record.parts
        lines.append(f"{g:>5} {first:>5}..{first + count - 1:<5} {record.steps:>6} {nbytes:>8} "
                     f"{nbytes * 8 / (geometry.width * geometry.height * count):>8.5f} {synth:>6} {ctx:>5} "
                     + " ".join(f"{b:>7}" for b in per_level))
    macs = decoder_macs(config, min(config.gop, geometry.num_frames), geometry.height, geometry.width)
    lines.append(f"decoder: {macs['total']:.0f} multiply-adds per pixel (synthesis {macs['synthesis']:.0f}, "
                 f"upsampling {macs['upsampling']:.0f}, context {macs['context']:.0f} at "
                 f"{macs['latents_per_pixel']:.2f} latents per pixel); context {config.scheme}")
    return "\n".join(lines)


