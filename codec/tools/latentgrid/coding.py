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
from codec.tools.latentgrid.context import MEAN_RES, NUM_TABLES, Q, IntegerContext, table_model
from codec.tools.latentgrid.schemes import PAD, Offset


def padded(values: np.ndarray) -> np.ndarray:
    """A grid as int64, zero-padded by :data:`PAD` on every side."""
    return np.pad(values.astype(np.int64), PAD)


def gather(grid: np.ndarray, t: np.ndarray, y: np.ndarray, x: np.ndarray, offsets: tuple[Offset, ...]) -> np.ndarray:
    """Neighbour values ``(n, K)`` of latents at ``(t, y, x)`` in a :func:`padded` (contiguous)
    grid, in one indexing of the flat grid."""
    _, rows, cols = grid.shape
    centre = ((t + PAD) * rows + (y + PAD)) * cols + (x + PAD)
    deltas = np.array([(dt * rows + dy) * cols + dx for dt, dy, dx in offsets], dtype=np.int64)
    return grid.reshape(-1)[centre[:, None] + deltas[None, :]]


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
    in [-Q, Q]."""
    values = values.reshape(as_frames(values.shape))
    if values.size and np.abs(values).max() > Q:
        raise ValueError(f"latents must lie in [-{Q}, {Q}]")
    passes, classes = context.scheme.passes(values.shape)
    grid = padded(values)
    flat = values.reshape(-1).astype(np.int64)
    keys = np.empty(flat.size, dtype=np.int64)
    symbols = np.empty(flat.size, dtype=np.int64)
    tables_of = np.empty(flat.size, dtype=np.int64)
    for c, offsets in enumerate(context.scheme.classes):
        at = np.flatnonzero(classes.reshape(-1) == c)
        t, y, x = np.unravel_index(at, values.shape)
        mean, scale = context.predict(c, gather(grid, t, y, x, offsets), level)
        table = scale * MEAN_RES + (mean & (MEAN_RES - 1))
        tables_of[at] = table
        symbols[at] = flat[at] - (mean >> 2) + 2 * Q
        keys[at] = passes.reshape(-1)[at] * NUM_TABLES + table
    order, runs = _runs(keys)
    coder = constriction.stream.stack.AnsCoder()
    for a, b in reversed(runs):
        idx = order[a:b]
        coder.encode_reverse(symbols[idx].astype(np.int32), table_model(int(tables_of[idx[0]])))
    return coder.get_compressed()


def decode_level(words: np.ndarray, shape: tuple[int, ...], context: IntegerContext,
                 chunk: int | None = None, level: int = 0) -> np.ndarray:
    """Inverse of :func:`encode_level`: the grid of ``shape`` ((T, H, W) or (H, W)); a stream that
    does not decode to latents in range, or leaves words over, is a :class:`BitstreamError`."""
    def fail(message: str) -> BitstreamError:
        return BitstreamError(f"latent data: {message}", chunk=chunk)

    given, shape = tuple(shape), as_frames(shape)
    coder = guarded(fail, constriction.stream.stack.AnsCoder, np.ascontiguousarray(words, dtype=np.uint32))
    passes, classes = context.scheme.passes(shape)
    grid = padded(np.zeros(shape, dtype=np.int64))
    pass_flat, class_flat = passes.reshape(-1), classes.reshape(-1)
    order, runs = _runs(pass_flat)
    for a, b in runs:
        at = order[a:b]
        for c in np.unique(class_flat[at]):
            mine = at[class_flat[at] == c]
            t, y, x = np.unravel_index(mine, shape)
            mean, scale = context.predict(int(c), gather(grid, t, y, x, context.scheme.classes[int(c)]), level)
            table = scale * MEAN_RES + (mean & (MEAN_RES - 1))
            sub, table_runs = _runs(table)
            for ta, tb in table_runs:
                pick = sub[ta:tb]
                symbols = guarded(fail, coder.decode, table_model(int(table[pick[0]])), tb - ta)
                latents = np.asarray(symbols).astype(np.int64) + (mean[pick] >> 2) - 2 * Q
                if latents.size and np.abs(latents).max() > Q:
                    raise fail("a latent out of range")
                grid[t[pick] + PAD, y[pick] + PAD, x[pick] + PAD] = latents
    if not coder.is_empty():
        raise fail("longer than its grid")
    return grid[PAD:-PAD, PAD:-PAD, PAD:-PAD].reshape(given).copy()


def max_words(shape: tuple[int, ...]) -> int:
    """Most ANS words a level's data can hold (a guard on hostile lengths): a symbol costs at most
    24 bits (constriction's precision), so one word per latent is ample."""
    return math.prod(shape) + 16
