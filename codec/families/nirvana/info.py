"""``inrv info``'s table of a ``nirvana`` stream: one row per group, from the chunk table and each
chunk's head (steps, frame count), and what the decoders in group 0's chunk cost (from the head's
flags and the network's shapes on the meta device); the share of non-zero residual latents only
with ``values`` (``inrv info --verify``), which decodes the records. Nothing here is in proportion
to what a header claims."""

from __future__ import annotations

import numpy as np
import torch

from bitstream.records.nirvana import (FLAG_DECODERS, FLAG_KERNEL_MAPS, GROUP_HEAD_BYTES, kernel_taps, read_group,
                                       read_group_head)
from codec.family import ChunkSource, Geometry
from codec.families.nirvana.config import NirvanaConfig
from codec.families.nirvana.decode import group_chunks, structure
from codec.families.nirvana.net import NirvanaNet
from codec.tools.patches import PatchGrid


def network_shapes(config: NirvanaConfig, geometry: Geometry) -> list[tuple[int, ...]]:
    """The group network's tensor shapes, from a network on the meta device (nothing allocated)."""
    with torch.device("meta"):
        net = NirvanaNet(config, PatchGrid(geometry.height, geometry.width, config.patch))
    return [tuple(p.shape) for p in net.parameters()]


def group_table(config: NirvanaConfig, geometry: Geometry, stream: ChunkSource, values: bool = False) -> str:
    """Per group: frames, training steps, bytes, bpp and, with ``values``, the share of non-zero
    residual latents; then what the decoders in group 0's chunk cost."""
    plan = structure(config, geometry, stream).chunks
    shapes = network_shapes(config, geometry)
    lines = [f"{'group':>5} {'frames':>11} {'steps':>7} {'bytes':>9} {'bpp':>9}" + (f" {'nonzero':>8}" if values else "")]
    decoders = 0
    for g, (chunk, index) in enumerate(zip(plan, group_chunks(stream))):
        info = stream.chunks[index]
        _, head = read_group_head(stream.read_chunk_head(index, GROUP_HEAD_BYTES), index, info.payload_offset)
        first, count = chunk.first, chunk.count
        row = (f"{g:>5} {first:>5}..{first + count - 1:<5} {head.steps:>7} {info.total:>9} "
               f"{info.total * 8 / (geometry.width * geometry.height * count):>9.5f}")
        if values:
            residuals = read_group(stream.read_chunk(index), shapes, index, info.payload_offset).residuals
            nonzero = sum(int(np.count_nonzero(r)) for r in residuals)
            row += f" {nonzero / max(1, sum(r.size for r in residuals)):>8.2%}"
        lines.append(row + ("  ends at a scene cut" if head.frames is not None else ""))
        if head.flags & FLAG_DECODERS:
            decoders = head.flags
    taps = [kernel_taps(s) for s in shapes if kernel_taps(s)] if decoders & FLAG_KERNEL_MAPS else []
    lines.append(f"decoders (in group 0's chunk): scale and shift for {len(shapes)} tensors "
                 f"({8 * len(shapes)} bytes), "
                 + (f"kernel maps for {len(taps)} convolutions ({sum(2 * t * t for t in taps)} bytes)"
                    if taps else "no kernel maps"))
    return "\n".join(lines)
