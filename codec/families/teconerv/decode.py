"""Decoder side of ``teconerv``: the chain of segment records, rendered segment by segment.

Segment ``s``'s codes are segment ``s - 1``'s plus its residuals (or given directly); decoding
frames of segment ``s`` adds the residuals of segments ``0..s`` (integer adds, no rendering) and
renders only the segments asked for. The modulation of a layer is ``code x step``. Nothing here
trains; the hypernetwork is not needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_SEGMENT
from bitstream.records.teconerv import SEG_DIRECT, SegmentRecord, open_segment, read_segment
from codec.device import autocast
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.net import HypoSpec
from codec.families.teconerv.pretrained import Pretrained, load_id
from codec.tools.chain import ChainDecoder, add_code, keep_for
from codec.tools.structure import CodingStructure, group_count, groups
from codec.tools.tubelets import TubeletGrid
from codec.tools.tiles import Canvas, batch_span, frames_at_once

#: A stream whose segments would hold more modulation values than this is refused before anything
#: is allocated (2^27: 1080p at the default tubelets needs about 1.1 million).
MAX_DECODE_VALUES = 2**27
#: Tubelets rendered at once.
RENDER_BATCH = 16


def segment_shapes(hypo: HypoSpec, count: int) -> list[tuple[int, int, int]]:
    """(tubelets, tokens, row) of every modulated layer of one segment."""
    return [(count, n, row) for n, row in hypo.mod_shapes]


def state_bytes(shapes: Sequence[tuple[int, ...]]) -> int:
    """The most a segment's codes of ``shapes`` take as the decoder holds them: 4 bytes a value
    (int32; codes that fit a byte or two take that)."""
    return 4 * sum(math.prod(s) for s in shapes)


def check_weights(config: TeconervConfig, weights: Pretrained) -> None:
    hypo = weights.hypo
    if (config.frames, config.tile_h, config.tile_w) != (hypo.frames, hypo.height, hypo.width):
        raise BitstreamError(f"the stream's segments ({config.frames} frames of {config.tile_w}x{config.tile_h} "
                             f"tubelets) do not match its weights' ({hypo.frames} of {hypo.width}x{hypo.height})")


def render_tubelets(net, codes: Sequence[np.ndarray], steps: tuple[float, ...], grid: TubeletGrid, frames: int,
                    first: int, stop: int, device: torch.device) -> np.ndarray:
    """Frames ``first .. stop - 1`` of a segment of ``frames``, ``(n, H, W, 3)`` uint8, that the
    modulation codes ``codes`` (one (count, n, row) per layer) times ``steps`` render:
    :data:`RENDER_BATCH` tubelets at a time (modulations made per batch), each over those frames
    only (a single tubelet over two frames at least: :func:`codec.tools.tiles.batch_span`; the
    stages' convolutions of several tubelets are grouped, on oneDNN whatever the frames), blended into the frames band by band (:meth:`TubeletGrid.blend`),
    so that no whole frame is held in float. The frames are those of a render of the whole
    segment, bit for bit."""
    canvas = Canvas(stop - first, grid.height, grid.width)

    def tiles() -> Iterator[torch.Tensor]:
        with torch.inference_mode(), autocast(device):
            for a in range(0, grid.count, RENDER_BATCH):
                # codes of any integer type: float64 products, as int32 codes times a float give
                mods = [torch.from_numpy((c[a : a + RENDER_BATCH].astype(np.float64) * step).astype(np.float32))
                        .to(device) for c, step in zip(codes, steps)]
                lo, hi = batch_span(first, stop, frames) if mods[0].shape[0] == 1 else (first, stop)
                yield from net(mods, frames, lo, hi).float()[:, first - lo : stop - lo]

    for top, rows in grid.blend(tiles()):
        canvas.put(rows, top)
    return canvas.frames


@dataclass(frozen=True)
class SegmentState:
    """Segment ``s``'s modulation codes (the previous segment's plus its residuals, or its own when
    coded directly), each layer in the narrowest integer type that holds it, and the per-layer
    steps of segment 0's chunk."""

    codes: tuple[np.ndarray, ...]
    steps: tuple[float, ...]


def segment_chunks(stream: ChunkSource) -> list[int]:
    return [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_SEGMENT]


def structure(config: TeconervConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
    """Segments of ``frames`` frames, each a residual of the one before unless its chunk's first
    byte says it is coded directly (segment 0 always; a direct segment after it still takes the
    steps from segment 0's chunk). Reads one byte per segment, unverified (each chunk's CRC is
    checked when the segment is decoded)."""
    index = segment_chunks(stream)
    need = group_count(geometry.num_frames, config.frames)  # before anything the size of the claim
    if len(index) != need:
        raise BitstreamError(f"stream holds {len(index)} segment chunks, its "
                             f"{geometry.num_frames} frames need {need}")
    direct = [0] + [s for s, i in enumerate(index) if s and (head := stream.read_chunk_head(i, 1))
                    and head[0] & SEG_DIRECT]
    return groups(geometry.num_frames, config.frames, direct=direct, params=0)


class TeconervDecoder(Decoder):
    """Renders frame ranges, its chain decoder keeping the codes of the last segments it reached
    (:class:`codec.tools.chain.ChainDecoder`)."""

    def __init__(self, config: TeconervConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> None:
        self.config, self.geometry, self.stream, self.device = config, geometry, stream, device
        self.grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
        self.chunk_index = segment_chunks(stream)
        self.structure = structure(config, geometry, stream)
        self.weights = load_id(config.weights_id)
        check_weights(config, self.weights)
        self.shapes = segment_shapes(self.weights.hypo, self.grid.count)
        if sum(int(np.prod(s)) for s in self.shapes) > MAX_DECODE_VALUES:
            raise BitstreamError(f"a segment of {geometry.width}x{geometry.height} frames would hold over "
                                 f"{MAX_DECODE_VALUES} modulation values")
        self.net = self.weights.hyponet(device)
        self.chain = ChainDecoder(self.structure, self._step, keep_for(state_bytes(self.shapes)))

    def record(self, s: int) -> SegmentRecord:
        index = self.chunk_index[s]
        return read_segment(self.stream.read_chunk(index), self.shapes, index, self.stream.chunks[index].payload_offset)

    def _step(self, base: SegmentState | None, s: int) -> SegmentState:
        """Segment ``s``'s codes: its base's plus its residuals (integer adds only), or its own,
        a layer at a time (:func:`codec.tools.chain.add_code`: each layer held in the narrowest
        integer type its codes fit, a byte a value for a stream's small codes)."""
        index = self.chunk_index[s]
        record, values = open_segment(self.stream.read_chunk(index), self.shapes, index,
                                      self.stream.chunks[index].payload_offset)
        if base is None and (record.steps is None or not record.direct):
            raise BitstreamError("the first segment chunk must carry the steps and direct codes", chunk=index)
        steps = record.steps if record.steps is not None else base.steps
        codes: list[np.ndarray] = []
        for layer in values:  # not enumerate: its reused result tuple would hold the layer before
            codes.append(add_code(None if record.direct else base.codes[len(codes)], layer, "modulation codes",
                                  index))
            del layer  # a layer's int32 values go before the next layer's are decoded
        return SegmentState(tuple(codes), steps)

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """The segments holding frames ``start .. stop - 1`` (the structure's :meth:`needed`), only
        those frames of each rendered from its codes, a few at a time
        (:func:`codec.tools.tiles.frames_at_once`: one at a time from 4320p); the segments before
        them (back to a direct one) only add theirs."""
        per = frames_at_once(self.geometry.height, self.geometry.width)
        for s in self.structure.needed(start, stop).rendered:
            chunk = self.structure.chunks[s]
            state = self.chain.state(s)
            lo, hi = max(start, chunk.first) - chunk.first, min(stop, chunk.stop) - chunk.first
            for a in range(lo, hi, per):
                yield render_tubelets(self.net, state.codes, state.steps, self.grid, chunk.count, a,
                                      min(hi, a + per), self.device)
