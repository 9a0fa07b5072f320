"""Decoder side of ``grid``: the chain of network residuals, each group's latents decoded under
its context model, upsampled and synthesized. Nothing here trains."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.grid import GridRecord, read_grid
from bitstream.records.kinds import CHUNK_GRID
from bitstream.tensor import MAX_CODE
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
from codec.tools.latentgrid import SCHEMES, IntegerContext, context_shapes, decode_level, max_words


class GridDecoder(Decoder):
    """Renders frame ranges group by group, keeping the networks of the last group it reached."""

    def __init__(self, config: GridConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> None:
        self.config, self.geometry, self.stream, self.device = config, geometry, stream, device
        self.scheme = SCHEMES[config.scheme]
        self.chunk_index = [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_GRID]
        self.plan = [(first, min(config.gop, geometry.num_frames - first))
                     for first in range(0, geometry.num_frames, config.gop)]
        if len(self.chunk_index) != len(self.plan):
            raise BitstreamError(f"stream holds {len(self.chunk_index)} grid chunks, its {geometry.num_frames} "
                                 f"frames in groups of {config.gop} need {len(self.plan)}")
        self.synthesis_shapes = synthesis_shapes(config)
        self.context_shapes = context_shapes(self.scheme, config.ctx_hidden, config.ctx_layers, config.bias_levels)
        self.net = Synthesis(config).to(device).eval()
        self._reset()

    def _reset(self) -> None:
        self.group = -1
        self.current: GridRecord | None = None
        self.synthesis = [np.zeros(s, dtype=np.int64) for s in self.synthesis_shapes]
        self.context = [np.zeros(s, dtype=np.int64) for s in self.context_shapes]
        self.steps: np.ndarray | None = None

    def shapes(self, g: int) -> list[tuple[int, int, int]]:
        return level_shapes(self.config, self.plan[g][1], self.geometry.height, self.geometry.width)

    def record(self, g: int) -> GridRecord:
        index = self.chunk_index[g]
        return read_grid(self.stream.read_chunk(index), self.synthesis_shapes, self.context_shapes,
                         [max_words(s) for s in self.shapes(g)], index, self.stream.chunks[index].payload_offset)

    def advance(self, g: int) -> None:
        """Networks of group ``g``: the previous group's codes plus its residuals."""
        if g < self.group:
            self._reset()
        while self.group < g:
            record = self.record(self.group + 1)
            self.group += 1
            if self.group == 0 and record.synthesis_steps is None:
                raise BitstreamError("the first grid chunk must carry the synthesis steps",
                                     chunk=self.chunk_index[0])
            if record.synthesis_steps is not None:
                self.steps = record.synthesis_steps
            self.synthesis = [c + r for c, r in zip(self.synthesis, record.synthesis)]
            self.context = [c + r for c, r in zip(self.context, record.context)]
            if any(np.abs(c).max(initial=0) >= MAX_CODE for c in self.synthesis):
                raise BitstreamError("synthesis weights out of range", chunk=self.chunk_index[self.group])
            self.current = record

    def latents(self, g: int) -> list[np.ndarray]:
        """Group ``g``'s latent grids (integers)."""
        self.advance(g)
        assert self.current is not None
        config = self.config
        context = IntegerContext.from_codes(self.scheme, self.context, config.ctx_hidden, config.ctx_layers,
                                            config.bias_levels)
        return [decode_level(words, shape, context, self.chunk_index[g], k)
                for k, (words, shape) in enumerate(zip(self.current.levels, self.shapes(g)))]

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        for g, (first, count) in enumerate(self.plan):
            if first + count <= start or first >= stop:
                continue
            latents = self.latents(g)
            assert self.steps is not None
            net = load_synthesis(self.net, self.synthesis, self.steps)
            frames = render(net, [torch.from_numpy(y).float().to(self.device) for y in latents],
                            level_factors(self.config), count, self.geometry.height, self.geometry.width)
            yield frames[max(start, first) - first : min(stop, first + count) - first]


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


