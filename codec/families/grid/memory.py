"""What decoding a ``grid`` stream needs in memory (:meth:`GridFamily.decode_memory`), from its config
and geometry: the largest group's phases as :mod:`codec.families.grid.decode` runs them.

* latents: each level entropy decoded under the context model (:func:`codec.tools.latentgrid.decode_level`:
  the level's padded int8 grid, one pass's bookkeeping, the context model's features of
  :data:`codec.tools.latentgrid.coding.PREDICT_BATCH` latents at a time), the levels before it kept
  (a byte per latent);
* synthesis: a few frames at a time (:func:`codec.tools.tiles.frames_at_once`) in strips of rows
  (:func:`codec.families.grid.net.render`): a strip's rows of every upsampled level, the 1x1
  layers and the refinement over them, written into those frames in 8 bits; the frames handed on
  before are still held by the writer's loop.
"""

from __future__ import annotations

import math

from codec.family import Geometry
from codec.families.grid.config import GridConfig
from codec.families.grid.net import level_shapes
from codec.tools import tiles
from codec.tools.decodememory import FLOAT32, RUNTIME, STRIP_HALO, frame_bytes, to_uint8_bytes
from codec.tools.latentgrid import SCHEMES
from codec.tools.latentgrid.coding import PREDICT_BATCH

#: Bytes per latent of one pass's bookkeeping: flat and padded indices, their quotients, the
#: predicted means and tables, their order.
PASS_BYTES = 64
#: Bytes per latent of a prediction batch, per neighbour (gathered int8 values, float64 features)
#: and per hidden unit (float64 activations, two layers).
PREDICT_BYTES_PER_NEIGHBOUR, PREDICT_BYTES_PER_HIDDEN = 9, 16


def largest_pass(scheme_name: str, shape: tuple[int, int, int]) -> int:
    """Most latents one pass of a level of ``shape`` decodes (:meth:`Scheme.members`)."""
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
    scheme = SCHEMES[config.scheme]
    neighbours = max(len(offsets) for offsets in scheme.classes)
    predict = min(PREDICT_BATCH, max(sizes)) * (PREDICT_BYTES_PER_NEIGHBOUR * neighbours
                                                + PREDICT_BYTES_PER_HIDDEN * config.ctx_hidden + 32)
    padded = [(t + 4) * (h + 4) * (w + 4) for t, h, w in shapes]
    latents = max(sum(sizes[:k]) + 2 * padded[k] + PASS_BYTES * largest_pass(scheme.name, s) + predict
                  for k, s in enumerate(shapes))
    held = sum(sizes)  # every level of the group, a byte per latent, while it renders
    per = min(frames, tiles.frames_at_once(height, width))
    share = tiles.plan(height, width, per)
    rows = max(hi - lo for lo, hi in share)
    strip = per * min(height, STRIP_HALO * rows if len(share) > 1 else height) * width
    # a strip's upsampled levels (and a level's upsampled slice before the cut), the 1x1 layers'
    # channels-last copy and hidden maps, RGB and the refinement's maps, then its 8-bit rows
    synthesis = FLOAT32 * strip * (2 * config.levels + 3 * config.hidden + 4 * 3) + to_uint8_bytes(
        per, min(height, rows), width)
    output = 2 * frame_bytes(per, height, width)  # the frames rendered together, those handed on before
    return RUNTIME + held + max(latents, synthesis) + output
