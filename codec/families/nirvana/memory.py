"""What decoding a ``nirvana`` stream needs in memory (:meth:`NirvanaFamily.decode_memory`), from its
config and geometry, as :mod:`codec.families.nirvana.decode` runs:

* latents: the group networks' integer latents the chain decoder keeps, the record being added,
  and the network's float32 weights;
* patches: the network over a batch of patches (:data:`codec.tools.patches.RENDER_PIXELS` worth),
  every patch of the group's frames in 8 bits, and the frames assembled from them; the group
  before's frames are still held by the writer's loop.
"""

from __future__ import annotations

import torch

from codec.family import Geometry
from codec.families.nirvana.config import MAX_DECODE_VALUES, NirvanaConfig
from codec.families.nirvana.net import NirvanaNet
from codec.tools.chain import KEEP
from codec.tools.decodememory import CODE_BYTES, FLOAT32, frame_bytes, network_bytes, to_uint8_bytes
from codec.tools.patches import RENDER_PIXELS, PatchGrid
from codec.tools.sizing import checked_shell, count_params


def decode_memory(config: NirvanaConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding one group (see the module's phases)."""
    grid = PatchGrid(geometry.height, geometry.width, config.patch)
    params = count_params(checked_shell(lambda: NirvanaNet(config, grid), MAX_DECODE_VALUES, " per group"))
    latents = (KEEP + 2) * CODE_BYTES * params + 2 * FLOAT32 * params
    batch = min(grid.count, max(1, RENDER_PIXELS // (config.patch * config.patch)))
    frames = min(config.gop, geometry.num_frames)
    net = network_bytes(lambda: NirvanaNet(config, grid)(torch.arange(batch)))
    patch_frames = (FLOAT32 * batch * 3 * config.gop * config.patch**2
                    + to_uint8_bytes(batch * frames, config.patch, config.patch))
    padded = frame_bytes(frames, grid.rows * config.patch, grid.cols * config.patch)
    output = 2 * padded + frame_bytes(frames, geometry.height, geometry.width)  # patches, assembled, the group before
    return latents + max(net, patch_frames) + output
