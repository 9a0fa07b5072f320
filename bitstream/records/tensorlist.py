"""Tensor-list records (``docs/bitstream.md`` §10): the network chunk of ``nerv`` and ``hnerv`` and
the embeddings chunk of ``hnerv``, a count then quantized tensor records (:mod:`bitstream.tensor`)."""

from __future__ import annotations

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import QuantizedTensor, read_tensor, write_tensor

__all__ = ["MAX_TENSORS_PER_CHUNK", "pack_tensors", "unpack_tensors"]

MAX_TENSORS_PER_CHUNK = 4096


def pack_tensors(tensors: list[QuantizedTensor]) -> bytes:
    """A tensor-list payload: ``uvarint count``, then each quantized tensor record."""
    w = ByteWriter()
    w.uvarint(len(tensors))
    for t in tensors:
        write_tensor(w, t)
    return w.getvalue()


def unpack_tensors(data: bytes, shapes: list[tuple[int, ...]] | None = None, chunk: int | None = None,
                   base_offset: int = 0) -> list[QuantizedTensor]:
    """Inverse of :func:`pack_tensors`. ``shapes``: the tensors the reader's config implies; a
    payload with another count, or a record of another shape, is refused before its values are
    decoded (a record's claimed size allocates nothing)."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    count = r.uvarint()
    if count > MAX_TENSORS_PER_CHUNK or (shapes is not None and count != len(shapes)):
        raise BitstreamError(f"chunk holds {count} tensors, expected {len(shapes) if shapes else '<= 4096'}",
                             chunk=chunk, offset=base_offset)
    tensors = [read_tensor(r, expect=None if shapes is None else shapes[i]) for i in range(count)]
    r.expect_end()
    return tensors
