"""What decoding a ``teconerv`` stream needs in memory (:meth:`TeconervFamily.decode_memory`), from its
config, its weights' hyponetwork and the geometry, as :mod:`codec.families.teconerv.decode` runs;
the larger of two phases, each with the segments' codes the chain decoder keeps
(:func:`codec.tools.chain.keep_for`, at most 4 bytes a value: codes that fit a byte take one):

* a segment's codes: a layer at a time, its values entropy-decoded
  (:data:`codec.tools.decodememory.ENTROPY_BYTES` each) and added to its base's into the new
  segment's codes; the frames the writer still holds;
* rendering: a batch of tubelets at a time through the hyponetwork (their modulations made per
  batch) over the frames rendered together (:func:`codec.tools.tiles.frames_at_once`: one at a
  time from 4320p), blended band by band into those frames in 8 bits
  (:meth:`codec.tools.tubelets.TubeletGrid.blend`); the frames before still held by the writer.
"""

from __future__ import annotations

import math

from codec.family import Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.decode import RENDER_BATCH, segment_shapes, state_bytes
from codec.families.teconerv.net import HypoSpec
from codec.families.teconerv.pretrained import load_id
from codec.tools.chain import ADD_CHUNK, keep_for
from codec.tools.decodememory import ENTROPY_BYTES, FLOAT32, HELD, RUNTIME, frame_bytes, to_uint8_bytes
from codec.tools.tiles import frames_at_once
from codec.tools.tubelets import TubeletGrid


def tubelet_network_bytes(spec: HypoSpec, batch: int, frames: int) -> int:
    """The hyponetwork's working set for ``batch`` tubelets over ``frames`` of their frames, counted
    from its shapes (:class:`codec.families.teconerv.net.HypoNet`): the largest stage's convolution
    output, its pixel shuffle and activation, at once (:data:`HELD` for the input meanwhile), the
    stem's maps of every frame, and the per-tubelet weights of every layer."""
    bh, bw = spec.base
    sides, maps = (bh, bw), []
    for channels, stride in zip(spec.channels, spec.strides):
        sides = (sides[0] * stride, sides[1] * stride)
        maps.append(channels * sides[0] * sides[1])
    maps.append(3 * spec.height * spec.width)
    weights = sum(o * r for o, r in zip(spec.outputs, spec.rows))
    stem = spec.frames * spec.outputs[0]
    return FLOAT32 * batch * (HELD * 2 * frames * max(maps) + 2 * stem + 2 * weights)


def decode_memory(config: TeconervConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding (see the module's phases)."""
    spec = load_id(config.weights_id).hypo
    grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
    shapes = segment_shapes(spec, grid.count)
    state = state_bytes(shapes)
    kept = min(keep_for(state), -(-geometry.num_frames // config.frames)) * state
    batch = min(RENDER_BATCH, grid.count)
    segment = min(config.frames, geometry.num_frames)
    frames = min(segment, frames_at_once(geometry.height, geometry.width))
    held = frame_bytes(frames, geometry.height, geometry.width)  # the frames the writer still holds
    # the new segment's codes, one layer's values being decoded (and narrowed: two bytes a value more)
    largest = max(math.prod(s) for s in shapes)
    codes = state + (ENTROPY_BYTES + 2) * largest + 8 * ADD_CHUNK + held
    # one batch's modulations (float64, then float32), its tubelets over the frames rendered, the
    # band being blended (a tubelet row and what the next one adds), its weights' sums, the finished
    # rows divided by them and in 8 bits, the frames rendered and those the writer holds
    rendered = min(segment, max(frames, 2 if batch == 1 else 1))
    _, pw = grid.padded
    mods = (8 + FLOAT32) * batch * spec.values_per_tubelet
    tiles = frame_bytes(batch * rendered, config.tile_h, config.tile_w, itemsize=FLOAT32)
    band = frame_bytes(frames, 2 * config.tile_h, pw, itemsize=FLOAT32)
    blending = 3 * band + to_uint8_bytes(frames, config.tile_h, pw)
    rendering = mods + tubelet_network_bytes(spec, batch, rendered) + tiles + blending + 2 * held
    return RUNTIME + kept + max(codes, rendering)
