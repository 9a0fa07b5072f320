"""What decoding a ``motion`` stream needs in memory (:meth:`MotionFamily.decode_memory`), from its
config and geometry: a fixed working set, the frame's latents (a byte each) and the 8-bit frames
held, at any frame size (frames render in strips: :mod:`codec.families.motion.render`).

* a frame's parts: each part's latents entropy decoded, every level at once
  (:func:`codec.tools.latentgrid.decode_levels`: the levels' padded int8 grids, the decoding order
  of each level up to ``LAYOUT_LIMIT`` latents laid out at once, one pass's bookkeeping and the
  context model's features), the parts decoded before it held (a byte per latent);
* rendering, strip by strip (:func:`codec.tools.tiles.plan`): a strip's rows, with the halo its
  layers compute (:func:`halo_rows`), of each part in turn (the upsampled latents and the
  synthesis's maps; a motion part's fields at the frame's resolution), then of the prediction
  (sampling grids, each reference's samples, the blend) with the parts' outputs held; the
  reference rows the strip's vectors reach made float (at most
  :data:`codec.tools.framesampler.WINDOW_VALUES`, converted then written); the strip's 8-bit rows;
* the frames held, 8 bits each: the references still to be used (at most the hierarchy's depth
  plus four, as the decoder keeps them), the frame being rendered and the one handed on before.
"""

from __future__ import annotations

import math

from codec.family import Geometry
from codec.families.grid.memory import PASS_BYTES, PREDICT_BYTES_PER_HIDDEN, PREDICT_BYTES_PER_NEIGHBOUR
from codec.families.motion.config import MotionConfig
from codec.families.motion.net import PARTS, SCHEME, part_shape
from codec.tools import tiles
from codec.tools.decodememory import FLOAT32, RUNTIME, frame_bytes, to_uint8_bytes
from codec.tools.framesampler import WINDOW_VALUES
from codec.tools.latentgrid.coding import LAYOUT_LIMIT, PREDICT_BATCH
from codec.tools.latentgrid.schemes import PAD

#: Bytes per latent of a level's decoding order laid out at once: kept (padded flat positions,
#: int64) and at the peak of making it (the passes of every latent, their order, sorted copies).
LAYOUT_KEPT, LAYOUT_PEAK = 8, 72
#: Float values per pixel of a strip at the peak of its prediction from two references (the
#: sampling grid and its terms, the rows each point reads, each reference's samples, the blending
#: weight, the blend's terms, the residual added), and of a motion part's fields at the frame's
#: resolution (upsampled, cut, scaled).
PREDICTION_VALUES, FIELD_VALUES = 32, 16


def held_latents(config: MotionConfig, role: str, height: int, width: int) -> int:
    """Bytes of a part's decoded levels: their padded int8 grids (the levels are views of them)."""
    return sum((t + 2 * PAD) * (h + 2 * PAD) * (w + 2 * PAD)
               for t, h, w in part_shape(config, role).shapes(height, width))


def entropy_memory(config: MotionConfig, role: str, height: int, width: int) -> int:
    """Bytes at the peak of decoding a part's latents (see the module)."""
    part = part_shape(config, role)
    shapes = part.shapes(height, width)
    sizes = [math.prod(s) for s in shapes]
    neighbours = len(SCHEME.classes[0])
    predict = min(PREDICT_BATCH, sum(min(h, w // 3 + 1) for _, h, w in shapes)) * (
        PREDICT_BYTES_PER_NEIGHBOUR * neighbours + PREDICT_BYTES_PER_HIDDEN * config.ctx_hidden + 32)
    laid = [n for n in sizes if n <= LAYOUT_LIMIT]
    layout = LAYOUT_KEPT * sum(laid) + (LAYOUT_PEAK - LAYOUT_KEPT) * max(laid, default=0)
    passes = PASS_BYTES * sum(min(h, w // 3 + 1) for _, h, w in shapes)
    return held_latents(config, role, height, width) + layout + passes + predict


def halo_rows(config: MotionConfig) -> int:
    """Rows a strip's layers compute besides its own: the refinement's 3x3 convolutions (a row on
    each side per convolution) and a motion part's upsampling (a row of its grid on each side)."""
    return 2 * (2 * config.refine + 2**config.motion_scale)


def render_memory(config: MotionConfig, roles: tuple[str, ...], height: int, width: int) -> int:
    """Bytes at the peak of rendering a frame of these parts in strips (see the module): the largest
    of each part's synthesis (with the outputs of the parts before it) and of the prediction (with
    every part's output), per pixel of a strip and its halo."""
    strips = tiles.plan(height, width)
    rows = max(hi - lo for lo, hi in strips)
    strip = min(height, rows + halo_rows(config) if len(strips) > 1 else height) * width
    kept, peak = 0.0, 0.0
    for role in roles:
        part = part_shape(config, role)
        synthesis = (2 * part.levels + 3 * part.hidden + 4 * part.out) * 4.0**-part.scale
        peak = max(peak, kept + synthesis + (FIELD_VALUES if part.scale else 0))
        kept += part.out
    if len(roles) > 1:  # a motion part and a residual: the prediction, a window of each reference
        peak = max(peak, kept + PREDICTION_VALUES)
    window = 2 * FLOAT32 * WINDOW_VALUES if len(roles) > 1 else 0
    return int(FLOAT32 * strip * peak) + window + to_uint8_bytes(1, min(height, rows), width)


def frame_memory(config: MotionConfig, letter: str, height: int, width: int) -> int:
    """Bytes at the peak of decoding one frame of type ``letter`` besides the frames held: its parts'
    latents decoded one part after the other, then rendered with all of them held."""
    roles = PARTS[letter]
    held = [held_latents(config, role, height, width) for role in roles]
    decoding = max(sum(held[:k]) + entropy_memory(config, role, height, width) for k, role in enumerate(roles))
    return max(decoding, sum(held) + render_memory(config, roles, height, width))


def decode_memory(config: MotionConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding, with the frames held (see the module)."""
    height, width = geometry.height, geometry.width
    frame = max(frame_memory(config, letter, height, width) for letter in PARTS)
    depth = math.ceil(math.log2(max(2, config.intra_period))) + 1 if config.structure_name == "ra" else 1
    held = frame_bytes(min(geometry.num_frames, depth + 4) + 2, height, width)
    return RUNTIME + held + frame
