"""ByteWriter / ByteReader round trips and bounds checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream import BitstreamError, ByteReader, ByteWriter
from bitstream.fields import SVARINT_MAX, SVARINT_MIN, UVARINT_MAX, svarint_size, uvarint_size


def test_fixed_width_round_trip() -> None:
    w = ByteWriter()
    w.u8(255)
    w.u16(0xBEEF)
    w.u32(0xDEADBEEF)
    w.u64(2**64 - 1)
    w.f32(1.5)
    w.f32_array(np.array([1.0, -2.5, 3.25], dtype=np.float64))
    w.u32_array(np.array([0, 7, 2**32 - 1]))
    w.raw(b"xyz")
    w.blob(b"hello")
    assert len(w) == 1 + 2 + 4 + 8 + 4 + 12 + 12 + 3 + 6
    data = w.getvalue()
    assert data[1:3] == b"\xef\xbe"  # little-endian
    r = ByteReader(data)
    assert (r.u8(), r.u16(), r.u32(), r.u64(), r.f32()) == (255, 0xBEEF, 0xDEADBEEF, 2**64 - 1, 1.5)
    f = r.f32_array(3)
    assert f.dtype == np.float32 and f.tolist() == [1.0, -2.5, 3.25]
    assert r.u32_array(3).tolist() == [0, 7, 2**32 - 1]
    assert r.raw(3) == b"xyz"
    assert r.blob(5) == b"hello"
    assert r.remaining == 0 and r.position == len(data)
    r.expect_end()


@given(st.integers(0, UVARINT_MAX))
def test_uvarint_round_trip(v: int) -> None:
    w = ByteWriter()
    w.uvarint(v)
    assert len(w) == uvarint_size(v)
    r = ByteReader(w.getvalue())
    assert r.uvarint() == v
    r.expect_end()


@given(st.integers(SVARINT_MIN, SVARINT_MAX))
def test_svarint_round_trip(v: int) -> None:
    w = ByteWriter()
    w.svarint(v)
    assert len(w) == svarint_size(v)
    assert ByteReader(w.getvalue()).svarint() == v


def test_varint_encodings() -> None:
    w = ByteWriter()
    for v in (0, 1, 127, 128, 300):
        w.uvarint(v)
    assert w.getvalue() == b"\x00\x01\x7f\x80\x01\xac\x02"
    w = ByteWriter()
    for v in (0, -1, 1, -2):
        w.svarint(v)
    assert w.getvalue() == b"\x00\x01\x02\x03"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x80", "truncated uvarint"),
        (b"\x80\x00", "non-minimal"),
        (b"\xff" * 10 + b"\x01", "longer than 10"),
        (b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x01", r"exceeds 2\*\*63"),
    ],
)
def test_bad_uvarints(data: bytes, message: str) -> None:
    with pytest.raises(BitstreamError, match=message):
        ByteReader(data).uvarint()


def test_uvarint_max_value_accepted() -> None:
    w = ByteWriter()
    w.uvarint(2**63)
    assert ByteReader(w.getvalue()).uvarint() == 2**63


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.u8(256),
        lambda w: w.u8(-1),
        lambda w: w.u16(2**16),
        lambda w: w.u32(2**32),
        lambda w: w.uvarint(-1),
        lambda w: w.uvarint(2**63 + 1),
        lambda w: w.svarint(2**62 + 1),
        lambda w: w.u8(True),
        lambda w: w.u8(1.0),
        lambda w: w.f32(math.inf),
        lambda w: w.f32(1e39),
        lambda w: w.u32_array(np.array([-1])),
        lambda w: w.f32_array(np.array([1.0, np.nan])),
        lambda w: w.f32_array(np.array([1e39])),
        lambda w: w.f16_array(np.array([1.0, np.nan])),
        lambda w: w.f16_array(np.array([1e5])),  # beyond float16
    ],
)
def test_writer_rejects_bad_values(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call(ByteWriter())


def test_truncation_errors_carry_chunk_and_absolute_offset() -> None:
    r = ByteReader(b"\x01\x02\x03", base_offset=100, chunk=4)
    r.u8()
    with pytest.raises(BitstreamError) as info:
        r.u32()
    assert info.value.chunk == 4 and info.value.offset == 101
    assert "chunk 4" in str(info.value) and "offset 101" in str(info.value)
    assert r.position == 1  # a failed read consumes nothing


def test_arrays_checked_before_allocating() -> None:
    r = ByteReader(b"\x00" * 8)
    with pytest.raises(BitstreamError, match="truncated f32 array"):
        r.f32_array(2**60)  # would be exabytes if allocated first
    with pytest.raises(BitstreamError):
        r.u32_array(3)
    assert r.f32_array(2).tolist() == [0.0, 0.0]


def test_blob_cap_and_trailing_bytes() -> None:
    w = ByteWriter()
    w.blob(b"abcdef")
    with pytest.raises(BitstreamError, match="blob length 6 exceeds the limit 5"):
        ByteReader(w.getvalue()).blob(5)
    r = ByteReader(w.getvalue() + b"!")
    r.blob(6)
    with pytest.raises(BitstreamError, match="1 unexpected trailing bytes"):
        r.expect_end()


def test_sub_reader_keeps_absolute_offsets() -> None:
    r = ByteReader(b"abcdefgh", base_offset=10, chunk=1)
    r.raw(2)
    sub = r.sub(3)
    assert sub.raw(3) == b"cde" and r.raw(3) == b"fgh"
    with pytest.raises(BitstreamError) as info:
        sub.u8()
    assert info.value.offset == 15 and info.value.chunk == 1


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_random_bytes_never_escape(data: bytes) -> None:
    r = ByteReader(memoryview(data))
    try:
        for op in (r.uvarint, r.svarint, r.u8, r.u16, r.f32, r.u64, lambda: r.blob(8)):
            op()
    except BitstreamError:
        pass
