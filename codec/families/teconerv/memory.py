"""What decoding a ``teconerv`` stream needs in memory (:meth:`TeconervFamily.decode_memory`), from its
config, its weights' hyponetwork and the geometry, as :mod:`codec.families.teconerv.decode` runs:

* codes: the modulation codes of the segments the chain decoder keeps, and the record being added;
* tubelets: every tubelet of a segment rendered (batch by batch through the hyponetwork) and
  concatenated, then blended into the padded frame;
* frames: the segment's float frames converted to 8 bits; the segment before's frames are still
  held by the writer's loop.
"""

from __future__ import annotations

from codec.family import Geometry
from codec.families.teconerv.config import TeconervConfig
from codec.families.teconerv.decode import RENDER_BATCH
from codec.families.teconerv.net import HypoSpec
from codec.families.teconerv.pretrained import load_id
from codec.tools.chain import KEEP
from codec.tools.decodememory import CODE_BYTES, FLOAT32, HELD, frame_bytes, to_uint8_bytes
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
    # codes of the kept segments, the record's residuals and their sum; float modulations
    codes = (KEEP + 2) * CODE_BYTES * values
    mods = FLOAT32 * values + CODE_BYTES * max(n * row for n, row in spec.mod_shapes) * count
    frames = min(config.frames, geometry.num_frames)
    ph, pw = grid.padded
    tiles = frame_bytes(count * frames, config.tile_h, config.tile_w, itemsize=FLOAT32)
    weights = FLOAT32 * (count * config.tile_h * config.tile_w + ph * pw) if config.overlap else 0
    padded = frame_bytes(frames, ph, pw, itemsize=FLOAT32)
    # the list of rendered batches and their concatenation, the blend's sum and its normalised copy
    rendering = 2 * tiles + weights + max(tubelet_network_bytes(spec, min(RENDER_BATCH, count)), 2 * padded)
    output = (frame_bytes(frames, geometry.height, geometry.width, itemsize=FLOAT32)
              + to_uint8_bytes(frames, geometry.height, geometry.width))
    previous = frame_bytes(frames, geometry.height, geometry.width)
    return codes + mods + max(rendering, output) + previous
