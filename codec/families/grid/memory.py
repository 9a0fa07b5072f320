"""What decoding a ``grid`` stream needs in memory (:meth:`GridFamily.decode_memory`), from its config
and geometry: the largest group's phases as :mod:`codec.families.grid.decode` runs them.

* latents: each level entropy decoded under the context model (the padded grid, its pass and
  class numbers and their order, and one pass's neighbour features), the levels before it kept;
* upsampling: every level upsampled to the group's frames and stacked;
* synthesis: one frame at a time through the 1x1 layers and the refinement, into the group's
  8-bit frames; the group before's frames are still held by the writer's loop.
"""

from __future__ import annotations

import math

from codec.family import Geometry
from codec.families.grid.config import GridConfig
from codec.families.grid.net import level_factors, level_shapes
from codec.tools.decodememory import CODE_BYTES, FLOAT32, frame_bytes, to_uint8_bytes
from codec.tools.latentgrid import SCHEMES

#: Bytes per latent of the level being decoded: the int64 padded grid, pass and class numbers,
#: their order and sorted copy, and the meshgrid they are made from.
LEVEL_BYTES = 64
#: Bytes per latent of one pass, per neighbour: gathered indices and values, float64 features.
PASS_BYTES_PER_NEIGHBOUR = 3 * 8


def _largest_pass(scheme_name: str, shape: tuple[int, int, int]) -> int:
    """Most latents one pass of a level of ``shape`` decodes at once."""
    frames, height, width = shape
    if scheme_name == "checkerboard":
        return -(-height * width // 2)
    return frames * min(height, width // 3 + 1)  # a wavefront: 3y + x fixed in each frame


def decode_memory(config: GridConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding the largest group (see the module's phases)."""
    frames = min(config.gop, geometry.num_frames)
    height, width = geometry.height, geometry.width
    shapes = level_shapes(config, frames, height, width)
    sizes = [math.prod(s) for s in shapes]
    total = sum(sizes)
    scheme = SCHEMES[config.scheme]
    neighbours = max(len(offsets) for offsets in scheme.classes)
    latents = max(CODE_BYTES * sum(sizes[:k]) + LEVEL_BYTES * n
                  + _largest_pass(scheme.name, s) * (PASS_BYTES_PER_NEIGHBOUR * neighbours + 16 * config.ctx_hidden)
                  for k, (n, s) in enumerate(zip(sizes, shapes)))
    held = (CODE_BYTES + FLOAT32) * total  # integer latents and their float copies, through the group
    pixels = frames * height * width
    stacked = FLOAT32 * config.levels * pixels
    # each level interpolated to whole multiples of its factors before the cut, then stacked
    upsampling = held + stacked + sum(FLOAT32 * math.prod(s) * ft * fs * fs
                                      for s, (ft, fs) in zip(shapes, level_factors(config)))
    frame = height * width
    synthesis = (held + stacked + frame_bytes(frames, height, width)
                 + FLOAT32 * frame * (config.levels + 3 * config.hidden + 4 * 3) + to_uint8_bytes(1, height, width))
    previous = frame_bytes(frames, height, width)  # the group before, in the caller's hands
    return max(latents, upsampling, synthesis) + previous
