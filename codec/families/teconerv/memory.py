"""What decoding a ``teconerv`` stream needs in memory (:meth:`TeconervFamily.decode_memory`), from its
config, its weights' hyponetwork and the geometry, as :mod:`codec.families.teconerv.decode` runs:

* codes: the modulation codes of the segments the chain decoder keeps, and the record being added;
* tubelets: a batch of tubelets at a time through the hyponetwork (their modulations made per
  batch), blended band by band into the frames (:meth:`codec.tools.tubelets.TubeletGrid.blend`),
  each band written into the segment's 8-bit frames as it finishes; the segment before's frames
  are still held by the writer's loop.
"""

from __future__ import annotations

from codec.family import Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.decode import RENDER_BATCH
from codec.families.teconerv.net import HypoSpec
from codec.families.teconerv.pretrained import load_id
from codec.tools.chain import KEEP
from codec.tools.decodememory import CODE_BYTES, FLOAT32, HELD, RUNTIME, frame_bytes, to_uint8_bytes
from codec.tools.tubelets import TubeletGrid


def tubelet_network_bytes(spec: HypoSpec, batch: int) -> int:
    """The hyponetwork's working set for ``batch`` tubelets of ``spec.frames`` frames, counted from
    its shapes (:class:`codec.families.teconerv.net.HypoNet`): the largest stage's convolution
    output, its pixel shuffle and activation, at once (:data:`HELD` for the input meanwhile), and
    the per-tubelet weights of every layer."""
    bh, bw = spec.base
    sides, maps = (bh, bw), []
    for channels, stride in zip(spec.channels, spec.strides):
        sides = (sides[0] * stride, sides[1] * stride)
        maps.append(channels * sides[0] * sides[1])
    maps.append(3 * spec.height * spec.width)
    weights = sum(o * r for o, r in zip(spec.outputs, spec.rows))
    return FLOAT32 * batch * (HELD * 2 * spec.frames * max(maps) + 2 * weights)


def decode_memory(config: TeconervConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding one segment (see the module's phases)."""
    spec = load_id(config.weights_id).hypo
    grid = TubeletGrid(geometry.height, geometry.width, config.tile_h, config.tile_w, config.overlap)
    count = grid.count
    values = count * spec.values_per_tubelet
    batch = min(RENDER_BATCH, count)
    # codes of the segments the chain decoder keeps, the record's residuals and their sum; one
    # batch's modulations
    kept = min(KEEP, -(-geometry.num_frames // config.frames))
    codes = (kept + 2) * CODE_BYTES * values + (CODE_BYTES + FLOAT32) * batch * spec.values_per_tubelet
    frames = min(config.frames, geometry.num_frames)
    _, pw = grid.padded
    tiles = frame_bytes(batch * frames, config.tile_h, config.tile_w, itemsize=FLOAT32)
    # the band being blended (a tubelet row and what the next one adds), its weights' sums, the
    # finished rows divided by them, and those rows in 8 bits
    band = frame_bytes(frames, 2 * config.tile_h, pw, itemsize=FLOAT32)
    blending = 3 * band + to_uint8_bytes(frames, config.tile_h, pw)
    rendering = tubelet_network_bytes(spec, batch) + tiles + blending
    output = 2 * frame_bytes(frames, geometry.height, geometry.width)  # the segment's frames, the one before's
    return RUNTIME + codes + rendering + output
