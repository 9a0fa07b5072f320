"""Primitive little-endian fields: a growable writer and a bounds-checked reader.

Every read checks its bounds first; any shortfall or malformed field raises
:class:`~bitstream.errors.BitstreamError` carrying the chunk index (when the reader
was given one) and the *absolute* byte offset of the bad field in the file.

Varints are unsigned LEB128 (7 bits per byte, least significant group first, high bit
= "more bytes follow"), at most 10 bytes, value at most ``2**63``, and always minimal
(no redundant trailing ``0x80 0x00``-style groups). Signed varints use the zigzag map
``n >= 0 -> 2n``, ``n < 0 -> -2n - 1`` on top of that.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from bitstream.errors import BitstreamError

__all__ = ["ByteWriter", "ByteReader", "UVARINT_MAX", "SVARINT_MIN", "SVARINT_MAX"]

#: Largest value a uvarint may carry.
UVARINT_MAX = 2**63
#: Range of a svarint (the zigzag image of ``0..UVARINT_MAX``).
SVARINT_MIN = -(2**62)
SVARINT_MAX = 2**62
_UVARINT_MAX_BYTES = 10

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")


def _check_int(value: int, lo: int, hi: int, what: str) -> int:
    """Return ``value`` as a Python int if ``lo <= value <= hi``, else raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected an integer, got a bool")
    try:
        v = int(value.__index__())
    except AttributeError:
        raise ValueError(f"{what}: expected an integer, got {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{what}: {v} out of range [{lo}, {hi}]")
    return v


def uvarint_size(value: int) -> int:
    """Number of bytes :meth:`ByteWriter.uvarint` uses for ``value``."""
    return max(1, (int(value).bit_length() + 6) // 7)


def svarint_size(value: int) -> int:
    """Number of bytes :meth:`ByteWriter.svarint` uses for ``value``."""
    v = int(value)
    return uvarint_size(2 * v if v >= 0 else -2 * v - 1)


class ByteWriter:
    """Append-only little-endian byte builder. Invalid values raise ValueError."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> bytes:
        """The bytes written so far."""
        return bytes(self._buf)

    def u8(self, value: int) -> None:
        """One unsigned byte."""
        self._buf.append(_check_int(value, 0, 0xFF, "u8"))

    def u16(self, value: int) -> None:
        """Unsigned 16-bit little-endian."""
        self._buf += _U16.pack(_check_int(value, 0, 0xFFFF, "u16"))

    def u32(self, value: int) -> None:
        """Unsigned 32-bit little-endian."""
        self._buf += _U32.pack(_check_int(value, 0, 0xFFFFFFFF, "u32"))

    def u64(self, value: int) -> None:
        """Unsigned 64-bit little-endian."""
        self._buf += _U64.pack(_check_int(value, 0, 2**64 - 1, "u64"))

    def uvarint(self, value: int) -> None:
        """Unsigned LEB128 varint, ``0 <= value <= 2**63``."""
        v = _check_int(value, 0, UVARINT_MAX, "uvarint")
        while v >= 0x80:
            self._buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self._buf.append(v)

    def svarint(self, value: int) -> None:
        """Zigzag signed varint, ``-2**62 <= value <= 2**62``."""
        v = _check_int(value, SVARINT_MIN, SVARINT_MAX, "svarint")
        self.uvarint(2 * v if v >= 0 else -2 * v - 1)

    def f32(self, value: float) -> None:
        """IEEE-754 binary32, little-endian. The value must be finite in float32."""
        v = float(value)
        if not math.isfinite(v) or abs(v) > float(np.finfo(np.float32).max):
            raise ValueError(f"f32: {v} is not a finite float32")
        self._buf += _F32.pack(v)

    def f32_array(self, values: np.ndarray) -> None:
        """The values (flattened in C order) as consecutive little-endian float32s.

        Every value must be finite in float32 (ValueError otherwise).
        """
        self._finite_array(values, "<f4", "f32_array")

    def f16_array(self, values: np.ndarray) -> None:
        """The values (flattened in C order) as consecutive little-endian IEEE-754 binary16s.

        Each value is rounded to the nearest float16 and must be finite there (ValueError
        otherwise).
        """
        self._finite_array(values, "<f2", "f16_array")

    def _finite_array(self, values: np.ndarray, dtype: str, what: str) -> None:
        with np.errstate(over="ignore"):
            arr = np.ascontiguousarray(values, dtype=dtype)
        if not np.isfinite(arr).all():
            raise ValueError(f"{what}: values must be finite in {np.dtype(dtype).name}")
        self._buf += arr.tobytes()

    def u32_array(self, values: np.ndarray) -> None:
        """The values (flattened in C order) as consecutive little-endian uint32s."""
        arr = np.asarray(values)
        if arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
            raise ValueError("u32_array: values out of range")
        self._buf += np.ascontiguousarray(arr, dtype="<u4").tobytes()

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes as they are (no length)."""
        self._buf += data

    def blob(self, data: bytes | bytearray | memoryview) -> None:
        """A uvarint byte length followed by the bytes."""
        self.uvarint(len(memoryview(data).cast("B")))
        self._buf += data


class ByteReader:
    """Bounds-checked little-endian reader over bytes (zero-copy via memoryview).

    ``base_offset`` is the absolute file offset of ``data[0]`` and ``chunk`` the chunk
    index, both only used to locate errors.
    """

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        *,
        base_offset: int = 0,
        chunk: int | None = None,
    ) -> None:
        self._buf = memoryview(data).cast("B")
        self._pos = 0
        self.base_offset = int(base_offset)
        self.chunk = chunk

    # -- position -------------------------------------------------------------
    @property
    def position(self) -> int:
        """Bytes consumed so far (relative to the start of this reader's data)."""
        return self._pos

    @property
    def offset(self) -> int:
        """Absolute file offset of the next byte to be read."""
        return self.base_offset + self._pos

    @property
    def remaining(self) -> int:
        """Bytes left to read."""
        return len(self._buf) - self._pos

    def error(self, message: str, *, at: int | None = None) -> BitstreamError:
        """A :class:`BitstreamError` located at relative position ``at`` (default: here)."""
        pos = self._pos if at is None else at
        return BitstreamError(message, chunk=self.chunk, offset=self.base_offset + pos)

    def expect_end(self) -> None:
        """Raise if any bytes are left unread."""
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected trailing bytes")

    def _take(self, n: int, what: str) -> int:
        """Reserve ``n`` bytes and return their start position, or raise if truncated."""
        if n < 0 or n > self.remaining:
            raise self.error(f"truncated {what}: needs {n} bytes, {self.remaining} left")
        start = self._pos
        self._pos += n
        return start

    # -- fixed-width fields ---------------------------------------------------
    def u8(self) -> int:
        """One unsigned byte."""
        return self._buf[self._take(1, "u8")]

    def u16(self) -> int:
        """Unsigned 16-bit little-endian."""
        return _U16.unpack_from(self._buf, self._take(2, "u16"))[0]

    def u32(self) -> int:
        """Unsigned 32-bit little-endian."""
        return _U32.unpack_from(self._buf, self._take(4, "u32"))[0]

    def u64(self) -> int:
        """Unsigned 64-bit little-endian."""
        return _U64.unpack_from(self._buf, self._take(8, "u64"))[0]

    def f32(self) -> float:
        """IEEE-754 binary32 (may be non-finite: callers validate)."""
        return _F32.unpack_from(self._buf, self._take(4, "f32"))[0]

    # -- varints --------------------------------------------------------------
    def uvarint(self) -> int:
        """Unsigned LEB128 varint: at most 10 bytes, value <= 2**63, minimal encoding."""
        start = self._pos
        value = 0
        for i in range(_UVARINT_MAX_BYTES):
            if self._pos >= len(self._buf):
                raise self.error("truncated uvarint", at=start)
            byte = self._buf[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise self.error("non-minimal uvarint encoding", at=start)
                if value > UVARINT_MAX:
                    raise self.error(f"uvarint {value} exceeds 2**63", at=start)
                return value
        raise self.error("uvarint longer than 10 bytes", at=start)

    def svarint(self) -> int:
        """Zigzag signed varint."""
        u = self.uvarint()
        return (u >> 1) if not u & 1 else -((u + 1) >> 1)

    def uvarint_max(self, limit: int, what: str) -> int:
        """A uvarint that must be ``<= limit`` (error names ``what``)."""
        start = self._pos
        v = self.uvarint()
        if v > limit:
            raise self.error(f"{what} {v} exceeds the limit {limit}", at=start)
        return v

    # -- arrays and bytes -----------------------------------------------------
    def _array(self, dtype: str, count: int, what: str) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        if count < 0:
            raise self.error(f"negative {what} count {count}")
        start = self._take(count * itemsize, what)  # checked before any allocation
        return np.frombuffer(self._buf, dtype=dtype, count=count, offset=start).astype(
            dtype[1:], copy=True
        )

    def f32_array(self, count: int) -> np.ndarray:
        """``count`` little-endian float32s as a new native float32 array."""
        return self._array("<f4", count, "f32 array")

    def f16_array(self, count: int) -> np.ndarray:
        """``count`` little-endian float16s as a new native float16 array."""
        return self._array("<f2", count, "f16 array")

    def u32_array(self, count: int) -> np.ndarray:
        """``count`` little-endian uint32s as a new native uint32 array."""
        return self._array("<u4", count, "u32 array")

    def raw_view(self, n: int) -> memoryview:
        """The next ``n`` bytes as a zero-copy view."""
        start = self._take(n, "bytes")
        return self._buf[start : start + n]

    def raw(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        return bytes(self.raw_view(n))

    def blob(self, max_len: int) -> bytes:
        """A uvarint length (must be ``<= max_len``) and that many bytes."""
        n = self.uvarint_max(max_len, "blob length")
        return self.raw(n)

    def sub(self, n: int) -> "ByteReader":
        """A reader over the next ``n`` bytes (same chunk, absolute offsets preserved)."""
        start = self._take(n, "sub-record")
        return ByteReader(
            self._buf[start : start + n], base_offset=self.base_offset + start, chunk=self.chunk
        )
