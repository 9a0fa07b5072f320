"""Decoded state along a stream's chunks, kept between calls: "the previous state plus this
chunk's residual", with a bounded cache, and a bounded store of decoded reference frames.

A group-wise family (grid, nirvana, teconerv) stores each group's integer codes as a residual of
the previous group's (NIRVANA's autoregressive idea, Maiya et al., CVPR 2023), or directly. Its
decoder gives :class:`ChainDecoder` one function, ``step(base_state, chunk) -> state``, that reads
a chunk and applies it to the state of the chunk it builds on (``None`` for a chunk that builds on
nothing); the chain decoder walks :meth:`CodingStructure.chain` from the latest state it holds
(or the chain's start) and keeps the states of the last ``keep`` chunks it reached, so decoding
forward costs one step per chunk and seeking back a little costs nothing. States must not be
changed in place (``step`` returns new arrays: :func:`add_codes` does).

Nothing here trains.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from bitstream import BitstreamError
from bitstream.tensor import MAX_CODE
from codec.tools.structure import CodingStructure

S = TypeVar("S")
F = TypeVar("F")

#: States kept by default: the last chunks reached (a few groups' codes, megabytes at most).
KEEP = 4
#: A decoder whose states are large keeps as many as fit in this (:func:`keep_for`), at least one:
#: seeking back then decodes the chain again, and memory stays bounded.
KEEP_BYTES = 256 * 2**20
#: Values :func:`add_code` sums at a time (its int64 working copy: 8 MB).
ADD_CHUNK = 1 << 20
#: The integer types :func:`add_code` holds codes in, narrowest first.
NARROW = (np.int8, np.int16, np.int32)


def keep_for(state_bytes: int) -> int:
    """States a :class:`ChainDecoder` keeps when each takes up to ``state_bytes``: :data:`KEEP`, or
    as many as fit in :data:`KEEP_BYTES`, at least one."""
    return max(1, min(KEEP, KEEP_BYTES // max(1, state_bytes)))


def add_codes(codes: Sequence[np.ndarray] | None, values: Sequence[np.ndarray], what: str,
              chunk: int | None = None) -> list[np.ndarray]:
    """``codes + values`` per tensor (``values`` alone where ``codes`` is None: a chunk coded
    directly), new arrays; a :class:`BitstreamError` naming ``what`` and the stream's ``chunk`` when
    a sum reaches :data:`bitstream.tensor.MAX_CODE` in magnitude (a damaged or hostile chain)."""
    out = list(values) if codes is None else [c + v for c, v in zip(codes, values)]
    if any(np.abs(c).max(initial=0) >= MAX_CODE for c in out):
        raise BitstreamError(f"{what} out of range", chunk=chunk)
    return out


def add_code(code: np.ndarray | None, values: np.ndarray, what: str, chunk: int | None = None) -> np.ndarray:
    """``code + values`` for one tensor (``values`` alone where ``code`` is None), as
    :func:`add_codes` but in bounded memory: summed :data:`ADD_CHUNK` values at a time in int64
    into ``values`` (the int32 values a record gives, overwritten), the sum returned in the
    narrowest of :data:`NARROW` that holds it (a large stream's codes are small: a byte a value).
    The same :class:`BitstreamError` where a sum reaches ``MAX_CODE`` in magnitude."""
    if values.dtype != np.int32 or not values.flags.writeable or not values.flags.c_contiguous:
        values = np.ascontiguousarray(values, dtype=np.int32).copy()
    flat = values.reshape(-1)
    base = None if code is None else code.reshape(-1)
    lo = hi = 0
    for a in range(0, flat.size, ADD_CHUNK):
        part = flat[a : a + ADD_CHUNK].astype(np.int64)
        if base is not None:
            part += base[a : a + ADD_CHUNK]
        lo, hi = min(lo, int(part.min())), max(hi, int(part.max()))
        if max(-lo, hi) >= MAX_CODE:
            raise BitstreamError(f"{what} out of range", chunk=chunk)
        flat[a : a + ADD_CHUNK] = part
    narrow = next(t for t in NARROW if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
    return values if narrow is np.int32 else values.astype(narrow)


class ChainDecoder(Generic[S]):
    """The decoded state of any chunk of ``structure``: ``step(base_state, chunk)`` applies a chunk
    to the state of its base (``None`` when it has none); the states of the last ``keep`` chunks
    reached are kept, and those of the chunks that direct chunks build on (stream-wide parameters)
    for as long as the decoder lives. ``steps`` counts the chunks applied."""

    def __init__(self, structure: CodingStructure, step: Callable[[S | None, int], S], keep: int = KEEP) -> None:
        if keep < 1:
            raise ValueError("keep at least one state")
        self.structure, self.step, self.keep = structure, step, keep
        self.pinned = {c.base for c in structure.chunks if c.direct and c.base is not None}
        self.cache: OrderedDict[int, S] = OrderedDict()
        self.steps = 0

    def state(self, chunk: int) -> S:
        """Chunk ``chunk``'s decoded state, from the latest state held on its chain."""
        chain = self.structure.chain(chunk)
        at = next((i for i in range(len(chain) - 1, -1, -1) if chain[i] in self.cache), None)
        state = None if at is None else self._get(chain[at])
        for c in chain[(0 if at is None else at + 1):]:
            state = self.step(state, c)
            self.steps += 1
            self._put(c, state)
        assert state is not None
        return state

    def _get(self, chunk: int) -> S:
        self.cache.move_to_end(chunk)
        return self.cache[chunk]

    def _put(self, chunk: int, state: S) -> None:
        self.cache[chunk] = state
        self.cache.move_to_end(chunk)
        unpinned = [c for c in self.cache if c not in self.pinned]
        for c in unpinned[: max(0, len(unpinned) - self.keep)]:
            del self.cache[c]

    def clear(self) -> None:
        self.cache.clear()


class ReferenceFrames(Generic[F]):
    """Decoded frames that later frames reference, by display index, at most ``limit`` of them:
    :meth:`put` after decoding a frame, :meth:`get` its references, :meth:`release` what the
    structure no longer needs after a coding position. A frame evicted while still referenced is
    decoded again by the caller (``get`` raises ``KeyError``)."""

    def __init__(self, structure: CodingStructure, limit: int) -> None:
        if limit < 1:
            raise ValueError("hold at least one reference frame")
        self.structure, self.limit = structure, limit
        self.frames: OrderedDict[int, F] = OrderedDict()
        last: dict[int, int] = {}
        for position, f in enumerate(structure.frames):
            for r in f.refs:
                last[r] = position
        self.last_use = last

    def put(self, display: int, frame: F) -> None:
        """Keep ``frame`` if a later frame references it (the least recently used one goes when full)."""
        if display not in self.last_use:
            return
        self.frames[display] = frame
        self.frames.move_to_end(display)
        while len(self.frames) > self.limit:
            self.frames.popitem(last=False)

    def get(self, display: int) -> F:
        self.frames.move_to_end(display)
        return self.frames[display]

    def release(self, position: int) -> None:
        """Drop the frames no frame after coding ``position`` references."""
        for d in [d for d in self.frames if self.last_use[d] <= position]:
            del self.frames[d]

    def __contains__(self, display: int) -> bool:
        return display in self.frames

    def __len__(self) -> int:
        return len(self.frames)
