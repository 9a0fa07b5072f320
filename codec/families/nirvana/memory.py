"""What decoding a ``nirvana`` stream needs in memory (:meth:`NirvanaFamily.decode_memory`), from its
config and geometry, as :mod:`codec.families.nirvana.decode` runs:

* latents: the group networks' integer latents the chain decoder keeps, the record being added,
  and the network's float32 weights;
* patches: the network over a batch of patches (:data:`codec.tools.patches.RENDER_PIXELS` worth)
  and their conversion to 8 bits, written into the group's frames as they come
  (:func:`codec.tools.patches.render_patches`); the group before's frames are still held by the
  writer's loop.
"""

from __future__ import annotations

import torch

from codec.family import Geometry
from codec.families.nirvana.config import MAX_DECODE_VALUES, NirvanaConfig
from codec.families.nirvana.net import NirvanaNet
from codec.tools.chain import KEEP
from codec.tools.decodememory import CODE_BYTES, RUNTIME, WEIGHT_BYTES, frame_bytes, network_bytes, to_uint8_bytes
from codec.tools.patches import RENDER_PIXELS, PatchGrid
from codec.tools.sizing import checked_shell, count_params


def decode_memory(config: NirvanaConfig, geometry: Geometry) -> int:
    """Bytes at the peak of decoding one group (see the module's phases)."""
    grid = PatchGrid(geometry.height, geometry.width, config.patch)
    params = count_params(checked_shell(lambda: NirvanaNet(config, grid), MAX_DECODE_VALUES, " per group"))
    kept = min(KEEP, -(-geometry.num_frames // config.gop))  # groups' latents the chain decoder keeps
    latents = (kept + 2) * CODE_BYTES * params + 2 * WEIGHT_BYTES * params
    batch = min(grid.count, max(1, RENDER_PIXELS // (config.patch * config.patch)))
    frames = min(config.gop, geometry.num_frames)
    patches = (network_bytes(lambda: NirvanaNet(config, grid)(torch.arange(batch)))
               + to_uint8_bytes(batch * frames, config.patch, config.patch))
    output = 2 * frame_bytes(frames, geometry.height, geometry.width)  # the group's frames, the group before's
    return RUNTIME + latents + patches + output
