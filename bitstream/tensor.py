"""Records for quantized tensors and plain integer tensors.

Shape record:       u8 ndim (<= 8), then ndim uvarints (each <= 2**24); the element
                    count (product, 1 for ndim 0) must be <= the reader's max_symbols.
Integer tensor:     shape record, then the values entropy coded (bitstream.entropy).
Quantized tensor:   shape record, u8 flags (bit 0: per-channel scales, bit 1: offset
                    present, other bits 0), float32 scales (shape[0] of them when
                    per-channel, else 1), float32 offset if flagged, then the codes
                    entropy coded. Value = code * scale[channel] + offset.
Shaped arrays:      integer arrays whose shapes the reader already knows (from the model
                    config): each array's values entropy coded, nothing else
                    (:func:`write_arrays` / :func:`read_arrays`, the one reader and writer
                    of the family records in :mod:`bitstream.records`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Iterable, Iterator

from bitstream.entropy import MAX_SYMBOLS, Method, decode_ints, encode_ints
from bitstream.fields import ByteReader, ByteWriter

__all__ = [
    "MAX_NDIM",
    "MAX_DIM_SIZE",
    "QuantizedTensor",
    "write_tensor",
    "read_tensor",
    "write_ints",
    "read_ints",
    "MAX_CODE",
    "write_arrays",
    "read_arrays",
    "iter_arrays",
]

MAX_NDIM = 8
MAX_DIM_SIZE = 1 << 24
_PER_CHANNEL = 0x01
_HAS_OFFSET = 0x02
_KNOWN_FLAGS = _PER_CHANNEL | _HAS_OFFSET
#: Codes of a family's integer tensors must stay within this magnitude (an encoder guard and a
#: decoder check on the codes that residual records add up to).
MAX_CODE = 2**30


def _check_shape(shape: tuple[int, ...], limit: int = MAX_SYMBOLS) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) > MAX_NDIM:
        raise ValueError(f"{len(shape)} dimensions (max {MAX_NDIM})")
    if any(not 0 <= d <= MAX_DIM_SIZE for d in shape):
        raise ValueError(f"shape {shape}: each dimension must be in [0, {MAX_DIM_SIZE}]")
    if math.prod(shape) > limit:
        raise ValueError(f"shape {shape} has more than {limit} elements")
    return shape


@dataclass(frozen=True, eq=False)
class QuantizedTensor:
    """Integer codes with float32 step sizes: ``value = codes * scale + offset``.

    ``scales`` has one entry (per tensor) or ``shape[0]`` entries (per output channel,
    broadcast over axis 0). Construction validates and normalises dtypes (ValueError).
    """

    shape: tuple[int, ...]
    codes: np.ndarray
    scales: np.ndarray
    offset: float = 0.0

    def __post_init__(self) -> None:
        fix = object.__setattr__
        shape = _check_shape(self.shape)
        codes = np.asarray(self.codes)
        if codes.dtype.kind not in "iu":
            raise ValueError(f"codes must be integers, got {codes.dtype}")
        if codes.shape != shape:
            raise ValueError(f"codes shape {codes.shape} != {shape}")
        if codes.size and (codes.min() < -(2**31) or codes.max() > 2**31 - 1):
            raise ValueError("codes do not fit int32")
        scales = np.asarray(self.scales, dtype=np.float32).reshape(-1)
        per_channel_ok = len(shape) >= 1 and shape[0] >= 1 and len(scales) == shape[0]
        if len(scales) != 1 and not per_channel_ok:
            raise ValueError(f"{len(scales)} scales for shape {shape} (need 1 or shape[0])")
        if not np.isfinite(scales).all():
            raise ValueError("scales must be finite")
        offset = np.float32(self.offset)
        if not np.isfinite(offset):
            raise ValueError("offset must be finite")
        fix(self, "shape", shape)
        fix(self, "codes", np.ascontiguousarray(codes, dtype=np.int32))
        fix(self, "scales", scales)
        fix(self, "offset", float(offset))

    @property
    def per_channel(self) -> bool:
        """True when there is one scale per index of axis 0 (and more than one)."""
        return len(self.scales) > 1

    def dequantize(self) -> np.ndarray:
        """float32 values ``codes * scale + offset`` (scale broadcast over axis 0)."""
        if self.per_channel:
            scale = self.scales.reshape((-1,) + (1,) * (len(self.shape) - 1))
        else:
            scale = self.scales[0]
        out = self.codes.astype(np.float32) * scale
        if self.offset:
            out += np.float32(self.offset)
        return np.asarray(out, dtype=np.float32)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedTensor):
            return NotImplemented
        return (
            self.shape == other.shape
            and self.offset == other.offset
            and np.array_equal(self.scales, other.scales)
            and np.array_equal(self.codes, other.codes)
        )

    __hash__ = None  # type: ignore[assignment]


def _write_shape(w: ByteWriter, shape: tuple[int, ...]) -> None:
    w.u8(len(shape))
    for d in shape:
        w.uvarint(d)


def _read_shape(r: ByteReader, max_symbols: int) -> tuple[int, ...]:
    at = r.position
    ndim = r.u8()
    if ndim > MAX_NDIM:
        raise r.error(f"tensor has {ndim} dimensions (max {MAX_NDIM})", at=at)
    shape = tuple(r.uvarint_max(MAX_DIM_SIZE, "tensor dimension") for _ in range(ndim))
    if math.prod(shape) > max_symbols:
        raise r.error(f"tensor shape {shape} exceeds {max_symbols} elements", at=at)
    return shape


def _write_codes(w: ByteWriter, codes: np.ndarray, methods: Iterable[Method] | None) -> None:
    w.raw(encode_ints(codes, methods=methods))


def _read_codes(r: ByteReader, shape: tuple[int, ...]) -> np.ndarray:
    return decode_ints(r, math.prod(shape)).reshape(shape)


def write_ints(
    w: ByteWriter, array: np.ndarray, *, methods: Iterable[Method] | None = None
) -> None:
    """An integer tensor record: shape then entropy-coded values (must fit int32).

    ``methods`` restricts the entropy methods tried (default: all, smallest wins).
    """
    arr = np.asarray(array)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"write_ints needs integers, got {arr.dtype}")
    shape = _check_shape(arr.shape)
    _write_shape(w, shape)
    _write_codes(w, arr, methods)


def read_ints(r: ByteReader, *, max_symbols: int = MAX_SYMBOLS) -> np.ndarray:
    """Read a :func:`write_ints` record as an int32 array of its shape."""
    shape = _read_shape(r, max_symbols)
    return _read_codes(r, shape)


def write_tensor(
    w: ByteWriter, t: QuantizedTensor, *, methods: Iterable[Method] | None = None
) -> None:
    """A quantized tensor record (see the module docstring); ``methods`` as in write_ints."""
    _write_shape(w, t.shape)
    flags = (_PER_CHANNEL if t.per_channel else 0) | (_HAS_OFFSET if t.offset else 0)
    w.u8(flags)
    w.f32_array(t.scales)
    if t.offset:
        w.f32(t.offset)
    _write_codes(w, t.codes, methods)


def read_tensor(r: ByteReader, *, max_symbols: int = MAX_SYMBOLS,
                expect: tuple[int, ...] | None = None) -> QuantizedTensor:
    """Read a :func:`write_tensor` record; every bound is checked before allocating. ``expect``:
    the shape the reader's model needs; another shape is an error before any value is decoded."""
    at = r.position
    shape = _read_shape(r, max_symbols)
    if expect is not None and shape != tuple(expect):
        raise r.error(f"tensor record has shape {shape}, the model needs {tuple(expect)}", at=at)
    at = r.position
    flags = r.u8()
    if flags & ~_KNOWN_FLAGS:
        raise r.error(f"unknown tensor flags 0x{flags:02x}", at=at)
    if flags & _PER_CHANNEL and (not shape or shape[0] < 2):
        raise r.error(f"per-channel scales need shape[0] >= 2, shape is {shape}", at=at)
    at = r.position
    scales = r.f32_array(shape[0] if flags & _PER_CHANNEL else 1)
    if not np.isfinite(scales).all():
        raise r.error("non-finite scale", at=at)
    offset = 0.0
    if flags & _HAS_OFFSET:
        at = r.position
        offset = r.f32()
        if not math.isfinite(offset) or offset == 0.0:
            raise r.error("offset flagged but not a finite non-zero float32", at=at)
    codes = _read_codes(r, shape)
    return QuantizedTensor(shape, codes, scales, offset)


def write_arrays(w: ByteWriter, arrays: Iterable[np.ndarray]) -> None:
    """Integer arrays whose shapes the reader knows: each one's values alone, in C order
    (:func:`bitstream.entropy.encode_ints`), one after the other."""
    for array in arrays:
        w.raw(encode_ints(np.asarray(array).reshape(-1).astype(np.int64)))


def iter_arrays(r: ByteReader, shapes: Iterable[tuple[int, ...]], *, framed: bool = False) -> Iterator[np.ndarray]:
    """:func:`read_arrays`' arrays one at a time, each decoded when asked for, as the int32 arrays
    the entropy decoder gives (writable; a reader of a large record holds one array at a time)."""
    for shape in shapes:
        count = math.prod(shape)
        at = r.position
        ints = read_ints(r, max_symbols=count) if framed else decode_ints(r, count)
        if ints.size != count:
            raise r.error(f"integer array of {ints.size} values where shape {tuple(shape)} needs {count}", at=at)
        yield ints.reshape(shape)
        del ints  # not held while the next array is decoded


def read_arrays(r: ByteReader, shapes: Iterable[tuple[int, ...]], *, framed: bool = False) -> tuple[np.ndarray, ...]:
    """Inverse of :func:`write_arrays`: one int64 array per shape. ``framed``: each array is a
    :func:`write_ints` record instead (its own shape record, whose element count, not its
    dimensions, must match the shape's), the layout of older group records."""
    return tuple(ints.astype(np.int64) for ints in iter_arrays(r, shapes, framed=framed))
