"""What decoding a ``motion`` stream needs in memory (:meth:`MotionFamily.decode_memory`), from its
config and geometry: frames render whole (no strips yet), so the figure grows with the frame.

* a part: its latents entropy decoded level by level (the padded int8 grid, one pass's
  bookkeeping, the context model's features; :mod:`codec.families.grid.memory`'s figures), then
  every level upsampled (float32 per level and pixel of its grid), the synthesis's hidden maps,
  its output;
* an inter frame: both parts' outputs, the motion fields at the frame's resolution, the sampling
  grid, each reference as float32 and warped, the blend and the sum;
* the frames held: the references still to be used (at most the hierarchy's depth plus four, as
  the decoder keeps them) and the frames of an intra period decoded before their turn to be handed
  on, 8 bits each.
"""

from __future__ import annotations

import math

from codec.family import Geometry
from codec.families.grid.memory import PASS_BYTES, PREDICT_BYTES_PER_HIDDEN, PREDICT_BYTES_PER_NEIGHBOUR
from codec.families.motion.config import MotionConfig
from codec.families.motion.net import ROLES, SCHEME, part_shape
from codec.tools.decodememory import FLOAT32, RUNTIME, frame_bytes
from codec.tools.latentgrid.coding import PREDICT_BATCH


def part_memory(config: MotionConfig, role: str, height: int, width: int) -> int:
    """Bytes of decoding one part (see the module)."""
    part = part_shape(config, role)
    shapes = part.shapes(height, width)
    sizes = [math.prod(s) for s in shapes]
    neighbours = len(SCHEME.classes[0])
    predict = min(PREDICT_BATCH, max(sizes)) * (PREDICT_BYTES_PER_NEIGHBOUR * neighbours
                                                + PREDICT_BYTES_PER_HIDDEN * config.ctx_hidden + 32)
    padded = [(t + 4) * (h + 4) * (w + 4) for t, h, w in shapes]
    passes = [min(h, w // 3 + 1) for _, h, w in shapes]
    latents = max(sum(sizes[:k]) + 2 * padded[k] + PASS_BYTES * passes[k] + predict for k in range(len(shapes)))
    grid = math.prod(part.grid(height, width))
    synthesis = FLOAT32 * grid * (2 * part.levels + 3 * part.hidden + 3 * part.out)
    return sum(sizes) + max(latents, synthesis)


def decode_memory(config: MotionConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding one frame, with the frames held (see the module)."""
    height, width = geometry.height, geometry.width
    pixels = height * width
    parts = max(part_memory(config, role, height, width) for role in ROLES)
    outputs = FLOAT32 * pixels * (3 + 5 + 2)  # a residual, the fields at the frame's size, the grid
    compensation = FLOAT32 * pixels * 3 * 6  # two references as floats, warped, the blend and the sum
    depth = math.ceil(math.log2(max(2, config.intra_period))) + 1 if config.structure_name == "ra" else 1
    held = frame_bytes(min(geometry.num_frames, depth + 4 + config.intra_period), height, width)
    return RUNTIME + held + parts + outputs + compensation
