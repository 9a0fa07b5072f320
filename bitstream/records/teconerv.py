"""Segment records of ``teconerv`` (``docs/bitstream.md`` §11.5): one segment's modulation codes per
layer, as residuals to the previous segment's codes or direct, with the per-layer quantization
steps in the first segment's chunk (kind :data:`bitstream.records.kinds.CHUNK_SEGMENT`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import iter_arrays, write_arrays

__all__ = ["SEG_STEPS", "SEG_DIRECT", "SEG_FINETUNE", "SegmentRecord", "write_segment", "read_segment",
           "open_segment"]

#: The segment chunk carries the per-layer quantization steps (the first segment's chunk).
SEG_STEPS = 1
#: The values are the segment's codes themselves, not residuals to the previous segment's codes.
SEG_DIRECT = 2
#: The count of fitting steps that refined the predicted modulations follows (``--finetune``).
SEG_FINETUNE = 4
_SEG_FLAGS = SEG_STEPS | SEG_DIRECT | SEG_FINETUNE


@dataclass(frozen=True)
class SegmentRecord:
    """One segment's chunk: per modulated layer an integer array (tubelets, tokens, row) of codes
    (``direct``) or of residuals to the previous segment's codes; the per-layer steps (``None``:
    unchanged, only the first segment carries them); the fitting steps that refined it."""

    values: tuple[np.ndarray, ...]
    direct: bool
    steps: tuple[float, ...] | None = None
    finetune: int = 0


def write_segment(record: SegmentRecord) -> bytes:
    """``u8 flags | f32 step per layer if flags & 1 | uvarint finetune steps if flags & 4 | values
    per layer`` (:func:`bitstream.tensor.write_arrays`; the reader knows the shapes)."""
    w = ByteWriter()
    w.u8((SEG_STEPS if record.steps is not None else 0) | (SEG_DIRECT if record.direct else 0)
         | (SEG_FINETUNE if record.finetune else 0))
    if record.steps is not None:
        if len(record.steps) != len(record.values):
            raise ValueError("one step per modulated layer")
        w.f32_array(np.asarray(record.steps, dtype=np.float32))
    if record.finetune:
        w.uvarint(record.finetune)
    write_arrays(w, record.values)
    return w.getvalue()


def open_segment(data: bytes, shapes: list[tuple[int, ...]], chunk: int | None = None,
                 base_offset: int = 0) -> tuple[SegmentRecord, Iterator[np.ndarray]]:
    """:func:`read_segment` with the values left in the chunk until asked for: the record without
    them (``values`` empty) and an iterator over them, one int32 array per layer, each decoded when
    reached (the chunk's end checked after the last), so that a decoder of a large segment holds
    one layer's values at a time."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    flags = r.u8()
    if flags & ~_SEG_FLAGS:
        raise BitstreamError(f"segment chunk has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
    steps = None
    if flags & SEG_STEPS:
        raw = r.f32_array(len(shapes))
        if not (np.isfinite(raw).all() and (raw > 0).all()):
            raise BitstreamError("segment chunk holds a step that is not a positive number", chunk=chunk)
        steps = tuple(float(v) for v in raw)
    finetune = r.uvarint() if flags & SEG_FINETUNE else 0

    def values() -> Iterator[np.ndarray]:
        yield from iter_arrays(r, shapes)
        r.expect_end()

    return SegmentRecord((), bool(flags & SEG_DIRECT), steps, finetune), values()


def read_segment(data: bytes, shapes: list[tuple[int, ...]], chunk: int | None = None,
                 base_offset: int = 0) -> SegmentRecord:
    """Inverse of :func:`write_segment` for modulation arrays of ``shapes`` (int64 values)."""
    record, values = open_segment(data, shapes, chunk, base_offset)
    return replace(record, values=tuple(v.astype(np.int64) for v in values))
