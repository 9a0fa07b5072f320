"""Decoder side of ``teconerv``: the chain of segment records, rendered segment by segment.

Segment ``s``'s codes are segment ``s - 1``'s plus its residuals (or given directly); decoding
frames of segment ``s`` adds the residuals of segments ``0..s`` (integer adds, no rendering) and
renders only the segments asked for. The modulation of a layer is ``code x step``. Nothing here
trains; the hypernetwork is not needed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_SEGMENT
from bitstream.records.teconerv import SEG_DIRECT, SegmentRecord, read_segment
from bitstream.tensor import MAX_CODE
from codec.device import autocast
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.net import HypoSpec
from codec.families.teconerv.pretrained import Pretrained, load_id
from codec.tools.tubelets import TubeletGrid
from codec.tools.dequantize import to_uint8

#: A stream whose segments would hold more modulation values than this is refused before anything
#: is allocated (2^27: 1080p at the default tubelets needs about 1.1 million).
MAX_DECODE_VALUES = 2**27
#: Tubelets rendered at once.
RENDER_BATCH = 16


def segment_shapes(hypo: HypoSpec, count: int) -> list[tuple[int, int, int]]:
    """(tubelets, tokens, row) of every modulated layer of one segment."""
    return [(count, n, row) for n, row in hypo.mod_shapes]


def check_weights(config: TeconervConfig, weights: Pretrained) -> None:
    hypo = weights.hypo
    if (config.frames, config.tile_h, config.tile_w) != (hypo.frames, hypo.height, hypo.width):
        raise BitstreamError(f"the stream's segments ({config.frames} frames of {config.tile_w}x{config.tile_h} "
                             f"tubelets) do not match its weights' ({hypo.frames} of {hypo.width}x{hypo.height})")


def render_tubelets(net, mods: list[torch.Tensor], grid: TubeletGrid, frames: int, device: torch.device) -> torch.Tensor:
    """(frames, 3, H, W) float frames that modulations ``mods`` (one (count, n, row) per layer)
    render; encoders measure with it, decoders decode with it."""
    tiles = []
    with torch.inference_mode(), autocast(device):
        for first in range(0, grid.count, RENDER_BATCH):
            tiles.append(net([m[first : first + RENDER_BATCH].to(device) for m in mods], frames).float())
    return grid.assemble(torch.cat(tiles))


class TeconervDecoder(Decoder):
    """Renders frame ranges, keeping the code chain of the last segment it reached."""

    def __init__(self, config: TeconervConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> None:
        self.config, self.geometry, self.stream, self.device = config, geometry, stream, device
        self.grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
        self.chunk_index = [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_SEGMENT]
        segments = -(-geometry.num_frames // config.frames)
        if len(self.chunk_index) != segments:
            raise BitstreamError(f"stream holds {len(self.chunk_index)} segment chunks, its "
                                 f"{geometry.num_frames} frames need {segments}")
        self.weights = load_id(config.weights_id)
        check_weights(config, self.weights)
        self.shapes = segment_shapes(self.weights.hypo, self.grid.count)
        if sum(int(np.prod(s)) for s in self.shapes) > MAX_DECODE_VALUES:
            raise BitstreamError(f"a segment of {geometry.width}x{geometry.height} frames would hold over "
                                 f"{MAX_DECODE_VALUES} modulation values")
        self.net = self.weights.hyponet(device)
        self._reset()

    def _reset(self) -> None:
        self.segment = -1
        self.codes = [np.zeros(s, dtype=np.int64) for s in self.shapes]
        self.steps: tuple[float, ...] | None = None

    def record(self, s: int) -> SegmentRecord:
        index = self.chunk_index[s]
        return read_segment(self.stream.read_chunk(index), self.shapes, index, self.stream.chunks[index].payload_offset)

    def advance(self, s: int) -> None:
        """Codes of segment ``s``: the previous codes plus each residual (integer adds only),
        starting from the last directly coded segment at or before ``s`` when that is later."""
        if s < self.segment:
            self._reset()
        if self.segment < 0 and s > 0:
            self.advance(0)  # the steps, and the first segment's checks
        for k in range(s, self.segment + 1, -1):
            head = self.stream.read_chunk_head(self.chunk_index[k], 1)
            if head and head[0] & SEG_DIRECT:  # checked in full (CRC included) when read below
                self.segment = k - 1
                break
        while self.segment < s:
            record = self.record(self.segment + 1)
            self.segment += 1
            if self.segment == 0 and (record.steps is None or not record.direct):
                raise BitstreamError("the first segment chunk must carry the steps and direct codes",
                                     chunk=self.chunk_index[0])
            if record.steps is not None:
                self.steps = record.steps
            self.codes = list(record.values) if record.direct else [c + r for c, r in zip(self.codes, record.values)]
            if any(np.abs(c).max(initial=0) >= MAX_CODE for c in self.codes):
                raise BitstreamError("modulation codes out of range", chunk=self.chunk_index[self.segment])

    def modulations(self) -> list[torch.Tensor]:
        assert self.steps is not None
        return [torch.from_numpy((c * step).astype(np.float32)) for c, step in zip(self.codes, self.steps)]

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        t = self.config.frames
        for s in range(len(self.chunk_index)):
            first, count = s * t, min(t, self.geometry.num_frames - s * t)
            if first + count <= start or first >= stop:
                continue
            self.advance(s)
            frames = render_tubelets(self.net, self.modulations(), self.grid, count, self.device)
            yield to_uint8(frames)[max(start, first) - first : min(stop, first + count) - first]


def segment_table(stream: ChunkSource, geometry: Geometry, config: TeconervConfig) -> str:
    """The per-segment table of ``inrv info``: frames, bytes, bpp, residual or direct, the share
    of non-zero values (when the weights are installed: they give the shapes)."""
    index = [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_SEGMENT]
    grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
    try:
        shapes = segment_shapes(load_id(config.weights_id).hypo, grid.count)
    except Exception:  # noqa: BLE001 - the table still gives bytes without the weights
        shapes = None
    lines = [f"{grid.count} tubelets of {config.tile_w}x{config.tile_h} per segment "
             + (f"(overlap {config.overlap} px)" if config.overlap else "(padded and cropped)"),
             f"{'segment':>7} {'frames':>11} {'bytes':>9} {'bpp':>9} {'coded':>8} {'nonzero':>8}"]
    for s, i in enumerate(index):
        info = stream.chunks[i]
        first = s * config.frames
        count = max(0, min(config.frames, geometry.num_frames - first))
        coded, share = "?", float("nan")
        if shapes is not None:
            record = read_segment(stream.read_chunk(i), shapes, i, info.payload_offset)
            coded = "direct" if record.direct else "residual"
            share = sum(int(np.count_nonzero(v)) for v in record.values) / max(1, sum(v.size for v in record.values))
        lines.append(f"{s:>7} {first:>5}..{first + count - 1:<5} {info.total:>9} "
                     f"{info.total * 8 / max(1, geometry.width * geometry.height * count):>9.5f} {coded:>8} "
                     f"{share:>8.2%}")
    if shapes is None:
        lines.append(f"(weights {config.weights_id.hex()} are not installed: residual shares unknown)")
    return "\n".join(lines)
