"""Entropy coding of one latent level under the integer context model, bit-exact on any machine.

A level is an integer grid ``(T, H, W)`` (a group of frames) or ``(H, W)`` (one image: coded as
one frame, exactly; :mod:`codec.tools.latentgrid.schemes`) with values in ``[-Q, Q]``, zero-padded
by :data:`PAD`. Its latents are coded pass by pass in the scheme's order; within a pass, run by
run: sorted (stably, from raster order) by their table (scale and mean fraction), each run one
call into constriction's ANS coder with that table's categorical model
(:func:`codec.tools.latentgrid.context.table_model`). The format is docs/bitstream.md's (grid
records, "Latents").
"""

from __future__ import annotations

import math

import constriction
import numpy as np

from bitstream import BitstreamError
from bitstream.entropy import guarded
from codec.tools.latentgrid.context import MEAN_RES, Q, IntegerContext, table_model
from codec.tools.latentgrid.schemes import PAD, Offset


#: Latents whose context a prediction evaluates at once (a pass of a checkerboard over an 8K frame
#: holds 16 million): the integer model's rows are independent, so the batch cannot change a result.
PREDICT_BATCH = 1 << 18


def padded(values: np.ndarray) -> np.ndarray:
    """A grid as int8 (latents lie in ``[-Q, Q]``), zero-padded by :data:`PAD` on every side."""
    return np.pad(values.astype(np.int8), PAD)


def centres(at: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Flat indices in the :func:`padded` grid of the latents at flat indices ``at`` of ``shape``."""
    _, height, width = shape
    t, rest = np.divmod(at, height * width)
    y, x = np.divmod(rest, width)
    return ((t + PAD) * (height + 2 * PAD) + (y + PAD)) * (width + 2 * PAD) + (x + PAD)


def gather(grid: np.ndarray, t: np.ndarray, y: np.ndarray, x: np.ndarray, offsets: tuple[Offset, ...]) -> np.ndarray:
    """Neighbour values ``(n, K)`` of latents at ``(t, y, x)`` in a :func:`padded` (contiguous)
    grid, in one indexing of the flat grid."""
    _, rows, cols = grid.shape
    return _gather(grid, ((t + PAD) * rows + (y + PAD)) * cols + (x + PAD), offsets)


def _gather(grid: np.ndarray, centre: np.ndarray, offsets: tuple[Offset, ...]) -> np.ndarray:
    _, rows, cols = grid.shape
    deltas = np.array([(dt * rows + dy) * cols + dx for dt, dy, dx in offsets], dtype=np.int64)
    return grid.reshape(-1)[centre[:, None] + deltas[None, :]]


def _predict(context: IntegerContext, cls: int, grid: np.ndarray, centre: np.ndarray,
             level: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean in quarters, table)`` (int16) of the latents at padded flat indices ``centre``,
    :data:`PREDICT_BATCH` at a time."""
    mean = np.empty(centre.size, dtype=np.int16)
    table = np.empty(centre.size, dtype=np.int16)
    offsets = context.scheme.classes[cls]
    for a in range(0, centre.size, PREDICT_BATCH):
        m, scale = context.predict(cls, _gather(grid, centre[a : a + PREDICT_BATCH], offsets), level)
        mean[a : a + PREDICT_BATCH] = m
        table[a : a + PREDICT_BATCH] = scale * MEAN_RES + (m & (MEAN_RES - 1))
    return mean, table


def _runs(keys: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A stable order by ``keys`` and the ``(start, stop)`` runs of equal keys in it."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    bounds = np.concatenate([[0], cuts, [len(keys)]])
    return order, [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def as_frames(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """A level's shape as a 3-D grid's: ``(H, W)`` is one frame ``(1, H, W)``."""
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) != 3:
        raise ValueError(f"a latent level is 2-D or 3-D, not of shape {shape}")
    return tuple(shape)


def encode_level(values: np.ndarray, context: IntegerContext, level: int = 0) -> np.ndarray:
    """The ANS words (uint32) of latent level ``level``'s grid ``values`` ((T, H, W) or (H, W)),
    in [-Q, Q]: pass after pass, within a pass run after run of the latents sharing a table
    (stably from raster order), coded last to first (ANS is a stack)."""
    coder = constriction.stream.stack.AnsCoder()
    _encode_passes(coder, [values], context, level)
    return coder.get_compressed()


def decode_level(words: np.ndarray, shape: tuple[int, ...], context: IntegerContext,
                 chunk: int | None = None, level: int = 0) -> np.ndarray:
    """Inverse of :func:`encode_level`: the grid of ``shape`` ((T, H, W) or (H, W)) as int8; a
    stream that does not decode to latents in range, or leaves words over, is a
    :class:`BitstreamError`. Memory: the padded grid (a byte per latent; the result is a view of
    it) and one pass's bookkeeping."""
    def fail(message: str) -> BitstreamError:
        return BitstreamError(f"latent data: {message}", chunk=chunk)

    given, shape = tuple(shape), as_frames(shape)
    coder = guarded(fail, constriction.stream.stack.AnsCoder, np.ascontiguousarray(words, dtype=np.uint32))
    scheme = context.scheme
    grid = np.zeros(tuple(n + 2 * PAD for n in shape), dtype=np.int8)
    cells = grid.reshape(-1)
    for index in range(scheme.count(shape)):
        at, cls = scheme.members(shape, index)
        if not at.size:
            continue
        centre = centres(at, shape)
        mean, table = _predict(context, cls, grid, centre, level)
        order, runs = _runs(table)
        for a, b in runs:
            pick = order[a:b]
            symbols = guarded(fail, coder.decode, table_model(int(table[pick[0]])), b - a)
            latents = np.asarray(symbols).astype(np.int64) + (mean[pick] >> 2) - 2 * Q
            if latents.size and np.abs(latents).max() > Q:
                raise fail("a latent out of range")
            cells[centre[pick]] = latents
    if not coder.is_empty():
        raise fail("longer than its grid")
    return grid[PAD:-PAD, PAD:-PAD, PAD:-PAD].reshape(given)  # a view: no second copy of the level


#: Latents of a level whose decoding order :func:`decode_levels` lays out at once (int64 positions
#: and pass bounds: about 16 bytes each); larger levels list each pass's latents as they come.
LAYOUT_LIMIT = 1 << 22


class _Level:
    """One level being decoded by :func:`decode_levels`: its coder (its own, or its pyramid's),
    padded grid and its passes."""

    def __init__(self, coder, shape: tuple[int, int, int], scheme, level: int) -> None:
        self.shape, self.level, self.scheme = shape, level, scheme
        self.coder = coder
        self.grid = np.zeros(tuple(n + 2 * PAD for n in shape), dtype=np.int8)
        self.cells = self.grid.reshape(-1)
        self.count = scheme.count(shape)
        self.layout = None
        if math.prod(shape) <= LAYOUT_LIMIT and len(scheme.classes) == 1:
            passes, _ = scheme.passes(shape)
            flat = passes.reshape(-1)
            order = np.argsort(flat, kind="stable")  # raster order within a pass, as members() gives
            bounds = np.searchsorted(flat[order], np.arange(self.count + 1))
            self.layout = (centres(order, shape), bounds)

    def members(self, index: int) -> tuple[np.ndarray, int]:
        """Padded flat positions and class of pass ``index``'s latents."""
        if self.layout is not None:
            centre, bounds = self.layout
            return centre[bounds[index] : bounds[index + 1]], 0
        at, cls = self.scheme.members(self.shape, index)
        return centres(at, self.shape), cls


def _coder(words: np.ndarray, fail):
    return guarded(fail, constriction.stream.stack.AnsCoder, np.ascontiguousarray(words, dtype=np.uint32))


def decode_levels(words: list[np.ndarray], shapes: list[tuple[int, ...]], context: IntegerContext,
                  chunk: int | None = None) -> list[np.ndarray]:
    """:func:`decode_level` of every level of a pyramid (level ``k``: ``words[k]``, ``shapes[k]``),
    the same grids: each level is its own ANS stream and grid, so their passes may interleave. Pass
    ``p`` of every level is decoded together, its latents' contexts predicted in one call of the
    context model per class (rows are independent integers: the same predictions as one call per
    level), and the levels' decoding orders are laid out once (up to :data:`LAYOUT_LIMIT`
    latents), not pass by pass. Several times fewer Python-level calls than decoding the levels one
    by one on small frames, where each pass holds few latents."""
    def fail(message: str) -> BitstreamError:
        return BitstreamError(f"latent data: {message}", chunk=chunk)

    levels = _decode(context, shapes, [_coder(w, fail) for w in words], fail)
    for lv in levels:
        if not lv.coder.is_empty():
            raise fail("longer than its grid")
    return _grids(levels, shapes)


def decode_pyramid(words: np.ndarray, shapes: list[tuple[int, ...]], context: IntegerContext,
                   chunk: int | None = None) -> list[np.ndarray]:
    """Inverse of :func:`encode_pyramid`: a pyramid's levels (``shapes``) from one ANS stream, in
    :func:`decode_levels`'s order (the levels' passes interleaved)."""
    def fail(message: str) -> BitstreamError:
        return BitstreamError(f"latent data: {message}", chunk=chunk)

    coder = _coder(words, fail)
    levels = _decode(context, shapes, [coder] * len(shapes), fail)
    if not coder.is_empty():
        raise fail("longer than its grids")
    return _grids(levels, shapes)


def _grids(levels: list[_Level], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The decoded levels' grids, unpadded, in their given shapes (views: no second copy)."""
    return [lv.grid[PAD:-PAD, PAD:-PAD, PAD:-PAD].reshape(tuple(given)) for lv, given in zip(levels, shapes)]


def _decode(context: IntegerContext, shapes: list[tuple[int, ...]], coders: list, fail) -> list[_Level]:
    """Every level's latents (level ``k``: ``shapes[k]``, from ``coders[k]``) into its grid, pass
    ``p`` of every level together: the reverse of :func:`_encode_passes`' order."""
    scheme = context.scheme
    levels = [_Level(c, as_frames(tuple(s)), scheme, k) for k, (c, s) in enumerate(zip(coders, shapes))]
    for index in range(max((lv.count for lv in levels), default=0)):
        batches: dict[int, list[tuple[_Level, np.ndarray, np.ndarray]]] = {}
        for lv in levels:
            if index >= lv.count:
                continue
            centre, cls = lv.members(index)
            if centre.size:
                feats = _gather(lv.grid, centre, scheme.classes[cls])
                batches.setdefault(cls, []).append((lv, centre, feats))
        for cls, batch in batches.items():
            feats = np.concatenate([f for _, _, f in batch])
            rows = np.concatenate([np.full(len(c), lv.level) for lv, c, _ in batch])
            m, scale = context.predict(cls, feats, rows if context.level_bias is not None else 0)
            start = 0
            for lv, centre, _ in batch:
                mean = m[start : start + centre.size].astype(np.int16)
                table = (scale[start : start + centre.size] * MEAN_RES + (mean & (MEAN_RES - 1))).astype(np.int16)
                start += centre.size
                order, runs = _runs(table)
                for a, b in runs:
                    pick = order[a:b]
                    symbols = guarded(fail, lv.coder.decode, table_model(int(table[pick[0]])), b - a)
                    latents = np.asarray(symbols).astype(np.int64) + (mean[pick] >> 2) - 2 * Q
                    if latents.size and np.abs(latents).max() > Q:
                        raise fail("a latent out of range")
                    lv.cells[centre[pick]] = latents
    return levels


def _encode_passes(coder, grids: list[np.ndarray], context: IntegerContext, first_level: int = 0) -> None:
    """Push the latents of ``grids`` (levels ``first_level``, ``first_level + 1``, ...; each in
    [-Q, Q]) onto the ANS ``coder`` in the reverse of the order :func:`_decode` takes them off:
    pass ``p`` of every level together, within a pass class by class (in the order the levels
    first use them), level by level, run by run (ANS is a stack)."""
    scheme = context.scheme
    grids = [g.reshape(as_frames(g.shape)) for g in grids]
    for g in grids:
        if g.size and np.abs(g).max() > Q:
            raise ValueError(f"latents must lie in [-{Q}, {Q}]")
    padded_grids = [padded(g) for g in grids]
    counts = [scheme.count(g.shape) for g in grids]
    for index in reversed(range(max(counts, default=0))):
        batches: dict[int, list[tuple[int, np.ndarray]]] = {}
        for k, g in enumerate(grids):
            if index < counts[k]:
                at, cls = scheme.members(g.shape, index)
                if at.size:
                    batches.setdefault(cls, []).append((k, at))
        for cls, batch in reversed(list(batches.items())):
            for k, at in reversed(batch):
                mean, table = _predict(context, cls, padded_grids[k], centres(at, grids[k].shape), first_level + k)
                symbols = grids[k].reshape(-1)[at].astype(np.int32) - (mean >> 2) + 2 * Q
                order, runs = _runs(table)
                for a, b in reversed(runs):
                    idx = order[a:b]
                    coder.encode_reverse(symbols[idx].astype(np.int32), table_model(int(table[idx[0]])))


def encode_pyramid(grids: list[np.ndarray], context: IntegerContext) -> np.ndarray:
    """The ANS words (uint32) of every level of a pyramid (level ``k``: ``grids[k]``, in
    [-Q, Q]) in one stream: the levels' passes interleaved as :func:`decode_levels` decodes them,
    coded last to first. One stream's flush instead of one per level: a few bytes a level, most of
    a small inter frame's parts when their latents are nearly all zero."""
    coder = constriction.stream.stack.AnsCoder()
    _encode_passes(coder, grids, context)
    return coder.get_compressed()


def max_words(shape: tuple[int, ...]) -> int:
    """Most ANS words a level's data can hold (a guard on hostile lengths): a symbol costs at most
    24 bits (constriction's precision), so one word per latent is ample."""
    return math.prod(shape) + 16
