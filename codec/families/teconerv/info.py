"""``inrv info``'s table of a ``teconerv`` stream: one row per segment, from the chunk table and each
chunk's first byte (residual or direct); the share of non-zero values only with ``values`` (``inrv
info --verify``), which decodes the records. Nothing here is in proportion to what a header claims."""

from __future__ import annotations

import numpy as np

from bitstream.records.teconerv import SEG_DIRECT, read_segment
from codec.family import ChunkSource, Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.decode import segment_chunks, segment_shapes
from codec.families.teconerv.pretrained import load_id
from codec.tools.tubelets import TubeletGrid


def segment_table(stream: ChunkSource, geometry: Geometry, config: TeconervConfig, values: bool = False) -> str:
    """Per segment: frames, bytes, bpp, residual or direct (the chunk's first byte) and, with
    ``values``, the share of non-zero values (decoded; the weights give the shapes)."""
    grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
    shapes = segment_shapes(load_id(config.weights_id).hypo, grid.count) if values else None
    lines = [f"{grid.count} tubelets of {config.tile_w}x{config.tile_h} per segment "
             + (f"(overlap {config.overlap} px)" if config.overlap else "(padded and cropped)"),
             f"{'segment':>7} {'frames':>11} {'bytes':>9} {'bpp':>9} {'coded':>8}" + (f" {'nonzero':>8}" if values else "")]
    for s, i in enumerate(segment_chunks(stream)):
        info = stream.chunks[i]
        first = s * config.frames
        count = max(0, min(config.frames, geometry.num_frames - first))
        head = stream.read_chunk_head(i, 1)
        coded = "?" if not head else "direct" if head[0] & SEG_DIRECT else "residual"
        row = (f"{s:>7} {first:>5}..{first + count - 1:<5} {info.total:>9} "
               f"{info.total * 8 / max(1, geometry.width * geometry.height * count):>9.5f} {coded:>8}")
        if shapes is not None:
            record = read_segment(stream.read_chunk(i), shapes, i, info.payload_offset)
            share = sum(int(np.count_nonzero(v)) for v in record.values) / max(1, sum(v.size for v in record.values))
            row += f" {share:>8.2%}"
        lines.append(row)
    return "\n".join(lines)
