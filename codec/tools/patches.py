"""Patch grids: any frame size covered by ``P x P`` patches without cropping the video, and the
rendering of a patch-wise network over the whole grid (NIRVANA, Maiya et al., CVPR 2023).

The grid is ``ceil(H / P) x ceil(W / P)``; frames are padded (edge replication) to the grid for
training and the rendered grid is cropped back to ``H x W``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from codec.device import autocast
from codec.tools.dequantize import to_uint8
from codec.tools.tiles import Canvas

#: Pixels per frame a render batch covers (64 patches of 16 x 16, 256 of 8 x 8). With a fixed 64
#: patches, 8-pixel patches rendered in batches a quarter this size: bikes 640x272 at patch 8 then
#: decoded at 75-80 fps, against 87-91 with 256 (one thread, interleaved runs; the same frames to
#: the bit).
RENDER_PIXELS = 16384


@dataclass(frozen=True)
class PatchGrid:
    """The ``rows x cols`` grid of ``patch``-sized cells covering an ``height x width`` frame."""

    height: int
    width: int
    patch: int

    @property
    def rows(self) -> int:
        return -(-self.height // self.patch)

    @property
    def cols(self) -> int:
        return -(-self.width // self.patch)

    @property
    def count(self) -> int:
        return self.rows * self.cols

    def tubes(self, frames: np.ndarray) -> torch.Tensor:
        """(n, H, W, 3) uint8 -> (rows * cols, P, P, 3 n) uint8: each patch in its ``n`` frames,
        as ``3 n`` channels (frame-major), the samples :func:`codec.tools.fit.fit` draws. Made
        channel-first by ``fit``, they are a channels-last (B, 3 n, P, P) tensor: the layout of a
        network output in channels-last memory, compared with it as it comes."""
        n, p = len(frames), self.patch
        pad = ((0, 0), (0, self.rows * p - self.height), (0, self.cols * p - self.width), (0, 0))
        x = np.pad(frames, pad, mode="edge") if any(a or b for a, b in pad) else frames
        x = torch.from_numpy(np.ascontiguousarray(x)).view(n, self.rows, p, self.cols, p, 3)
        return x.permute(1, 3, 2, 4, 0, 5).reshape(self.count, p, p, n * 3).contiguous()

    def assemble(self, patches: np.ndarray) -> np.ndarray:
        """(rows * cols, n, P, P, 3) -> (n, H, W, 3): the patches back in place, cropped."""
        out = np.empty((patches.shape[1], self.height, self.width, 3), dtype=patches.dtype)
        self.place(out, 0, patches)
        return out

    def place(self, frames: np.ndarray, first: int, patches: np.ndarray) -> None:
        """Write patches ``first .. first + B - 1`` ((B, n, P, P, 3)) into ``frames`` (n, H, W, 3),
        a run of a patch row at a time, what lies outside the frame dropped."""
        p, n = self.patch, patches.shape[1]
        i, end = first, first + len(patches)
        while i < end:
            r, c = divmod(i, self.cols)
            stop = min(end, (r + 1) * self.cols)
            run = patches[i - first : stop - first]
            row = run.transpose(1, 2, 0, 3, 4).reshape(n, p, len(run) * p, 3)
            h, w = min(p, self.height - r * p), min(len(run) * p, self.width - c * p)
            frames[:, r * p : r * p + h, c * p : c * p + w] = row[:, :h, :w]
            i = stop


def render_patches(net: Callable[[torch.Tensor], torch.Tensor], grid: PatchGrid, count: int,
                   device: torch.device, batch: int | None = None, first: int = 0,
                   stop: int | None = None) -> np.ndarray:
    """Frames ``first .. stop - 1`` (default all) of the ``count`` a patch network (patch indices
    -> (B, 3 G, P, P), frame-major channels) renders, (n, H, W, 3) uint8, ``batch`` patches at a
    time (default: :data:`RENDER_PIXELS` worth), each batch written into the frames as it is
    rendered (:class:`codec.tools.tiles.Canvas`): no buffer of the frame's size but the frames.
    Encoders measure with it, decoders decode with it."""
    batch = batch or max(1, RENDER_PIXELS // (grid.patch * grid.patch))
    stop = count if stop is None else stop
    canvas = Canvas(stop - first, grid.height, grid.width)
    p = grid.patch
    with torch.inference_mode():
        for a in range(0, grid.count, batch):
            idx = torch.arange(a, min(grid.count, a + batch), device=device)
            with autocast(device):
                y = net(idx).unflatten(1, (-1, 3))[:, first:stop]
            grid.place(canvas.frames, a, to_uint8(y.flatten(0, 1)).reshape(len(idx), stop - first, p, p, 3))
    return canvas.frames
