"""An 8-bit frame sampled at any positions (motion compensation) as ``grid_sample`` samples its float
copy, bit for bit, in memory that does not grow with the frame: what a decoder rendering in strips
(:mod:`codec.tools.tiles`) warps its decoded reference frames with.

``torch.nn.functional.grid_sample`` (``align_corners=False``, border padding) maps a grid value
``g`` to the position ``(g + 1) * size / 2 - 0.5`` of an input of ``size`` rows or columns, in float
arithmetic. A part of the frame cannot stand in for the whole: the same grid on a smaller input
reads other positions, and a grid moved to the part's coordinates rounds differently. So
:class:`FrameSampler` hands ``grid_sample`` an input of the whole frame's shape laid over reserved
address space (an anonymous memory mapping) in which only the rows the grid's points read are
written, the frame's samples divided by 255 in float32 (:func:`from_uint8`'s values); the other
rows are never written and take no memory. Points whose rows lie further apart than a window of
:data:`WINDOW_VALUES` samples are sampled in groups of nearby rows (:func:`point_rows`), so that a
wild motion field costs time, not memory.

Why the values are ``grid_sample``'s of the whole float frame: its CPU kernel computes each point
on its own (vector lanes that never mix; a short last vector is filled with points at the frame's
centre whose results are dropped), from the point's grid value, the input's size and the samples
its filter reads, which are the float frame's. A grid of any shape is one list of points to it.
On other devices the frame is made float whole (their memory is the device's).
"""

from __future__ import annotations

import errno
import mmap

import numpy as np
import torch
import torch.nn.functional as F

#: Float samples of the frame one call of ``grid_sample`` has written at most (4M: 16 MB): the rows
#: its points read, all channels.
WINDOW_VALUES = 1 << 22
#: Rows around a point's estimated row that its filter may read: bicubic reads ``floor(y) - 1 ..
#: floor(y) + 2`` and the estimate (float64) may fall a row from the kernel's float32 position.
REACH = 4


def from_uint8(frame: np.ndarray, device: torch.device) -> torch.Tensor:
    """An 8-bit frame ``(H, W, C)`` as ``(1, C, H, W)`` float32 ``u / 255``."""
    return torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1)[None].float().div(255.0)


def point_rows(gy: torch.Tensor, height: int) -> torch.Tensor:
    """The row (int64, in ``0 .. height - 1``) around which ``grid_sample`` reads for each grid
    value ``gy`` of a frame of ``height`` rows: its position's floor, estimated in float64 and
    clamped; a position that is not a number reads row 0 (the kernel clamps it there)."""
    y = (gy.double() + 1.0) * (height / 2.0) - 0.5
    y = torch.nan_to_num(y, nan=0.0, posinf=float(height), neginf=-1.0)
    return y.clamp(0, height - 1).floor().long()


class FrameSampler:
    """``grid_sample(from_uint8(frame), grid, mode, padding_mode="border", align_corners=False)``
    for any grid ``(1, h, w, 2)``, bit for bit, with at most :data:`WINDOW_VALUES` float samples of
    the frame in memory at once on a CPU (see the module). ``frame`` ``(H, W, C)`` uint8 is read,
    never copied whole."""

    def __init__(self, frame: np.ndarray, device: torch.device) -> None:
        if frame.ndim != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
            raise ValueError("a frame sampler takes a non-empty (H, W, C) uint8 frame")
        self.frame, self.device = frame, torch.device(device)
        self.height, self.width, self.channels = frame.shape
        self.whole = None if self.device.type == "cpu" else from_uint8(frame, self.device)
        self.window = max(2 * REACH + 1, WINDOW_VALUES // (self.channels * self.width))

    def __call__(self, grid: torch.Tensor, mode: str) -> torch.Tensor:
        if self.whole is not None:
            return F.grid_sample(self.whole, grid, mode=mode, padding_mode="border", align_corners=False)
        _, h, w, _ = grid.shape
        rows = point_rows(grid[0, :, :, 1], self.height).reshape(-1)
        if not rows.numel():
            return grid.new_empty((1, self.channels, h, w))
        span = self.window - 2 * REACH
        lo, hi = int(rows.min()), int(rows.max())
        if hi - lo < span:
            return self._sample(grid, lo, hi, mode)
        # points far apart: groups of points within a window's rows, in the order of their rows
        order = torch.argsort(rows, stable=True)
        ordered = rows[order]
        points = grid.reshape(-1, 2)
        out = grid.new_empty((self.channels, h * w))
        start = 0
        while start < len(order):
            first = int(ordered[start])
            stop = int(torch.searchsorted(ordered, first + span))
            pick = order[start:stop]
            out[:, pick] = self._sample(points[pick][None, None], first, int(ordered[stop - 1]), mode)[0, :, 0]
            start = stop
        return out.view(1, self.channels, h, w)

    def _sample(self, grid: torch.Tensor, lo: int, hi: int, mode: str) -> torch.Tensor:
        """``grid_sample`` of the frame for points whose rows are ``lo .. hi``: rows ``lo - REACH ..
        hi + REACH`` written into a mapping of the frame's float size, laid out by rows (all
        channels of a row together, so that the rows written are one run of pages)."""
        r0, r1 = max(0, lo - REACH), min(self.height, hi + REACH + 1)
        c, w = self.channels, self.width
        try:
            space = mmap.mmap(-1, 4 * self.height * c * w)
        except OSError as exc:  # address space refused (ENOMEM): an allocation failure like any other
            if exc.errno == errno.ENOMEM:
                raise MemoryError(f"cannot reserve {4 * self.height * c * w} bytes of address space") from exc
            raise
        try:
            rows = torch.frombuffer(space, dtype=torch.float32).view(self.height, c, w)
            rows[r0:r1] = torch.from_numpy(self.frame[r0:r1]).permute(0, 2, 1).float().div_(255.0)
            out = F.grid_sample(rows.permute(1, 0, 2)[None], grid, mode=mode,
                                padding_mode="border", align_corners=False)
            del rows
        finally:
            try:
                space.close()
            except BufferError:  # a view still alive: the mapping goes with it
                pass
        return out
