"""Quantized tensor and integer tensor records."""

from __future__ import annotations

import numpy as np
import pytest

from bitstream import BitstreamError, ByteReader, ByteWriter, QuantizedTensor, read_ints, read_tensor, write_ints, write_tensor
from bitstream.entropy import MAX_SYMBOLS


def round_trip_tensor(t: QuantizedTensor) -> QuantizedTensor:
    w = ByteWriter()
    write_tensor(w, t)
    r = ByteReader(w.getvalue())
    out = read_tensor(r)
    r.expect_end()
    assert out == t
    return out


def test_per_tensor_and_per_channel() -> None:
    rng = np.random.default_rng(0)
    codes = np.round(rng.laplace(0, 4, (16, 3, 3, 3))).astype(np.int32)
    t = round_trip_tensor(QuantizedTensor((16, 3, 3, 3), codes, np.array([0.01], np.float32)))
    assert not t.per_channel
    np.testing.assert_allclose(t.dequantize(), codes * np.float32(0.01))
    scales = np.linspace(0.1, 1.6, 16).astype(np.float32)
    t = round_trip_tensor(QuantizedTensor((16, 3, 3, 3), codes, scales, offset=0.5))
    assert t.per_channel and t.dequantize().dtype == np.float32
    np.testing.assert_allclose(t.dequantize(), codes * scales[:, None, None, None] + 0.5, rtol=1e-6)


def test_scalar_and_empty_shapes() -> None:
    round_trip_tensor(QuantizedTensor((), np.array(5), np.array([2.0])))
    round_trip_tensor(QuantizedTensor((0, 4), np.zeros((0, 4), np.int64), np.array([1.0])))


def test_record_is_compact() -> None:
    w = ByteWriter()
    write_tensor(w, QuantizedTensor((8, 8), np.zeros((8, 8), np.int32), np.array([0.5])))
    assert len(w) == 1 + 2 + 1 + 4 + 2  # shape, flags, scale, constant codes


@pytest.mark.parametrize(
    "args",
    [
        ((2, 3), np.zeros((3, 2), np.int32), [1.0]),
        ((2, 3), np.zeros((2, 3), np.float32), [1.0]),
        ((2, 3), np.zeros((2, 3), np.int32), [1.0, 2.0, 3.0]),
        ((2, 3), np.zeros((2, 3), np.int32), [np.nan]),
        ((2, 3), np.zeros((2, 3), np.int64) + 2**31, [1.0]),
        ((1,) * 9, np.zeros((1,) * 9, np.int32), [1.0]),
    ],
)
def test_invalid_tensors_rejected(args: tuple) -> None:
    with pytest.raises(ValueError):
        QuantizedTensor(*args)


def test_ints_round_trip() -> None:
    rng = np.random.default_rng(1)
    for arr in (rng.integers(-50, 50, (4, 5, 6)), np.array(7), np.zeros((3, 0), np.int16)):
        w = ByteWriter()
        write_ints(w, arr)
        out = read_ints(ByteReader(w.getvalue()))
        assert out.dtype == np.int32 and out.shape == arr.shape
        np.testing.assert_array_equal(out, arr)
    with pytest.raises(ValueError):
        write_ints(ByteWriter(), np.zeros(3, np.float64))


def test_shape_limits_checked_before_allocating() -> None:
    w = ByteWriter()
    w.u8(2)
    w.uvarint(1 << 24)
    w.uvarint(1 << 24)  # 2**48 elements
    w.u8(0)  # constant method would allocate everything
    w.svarint(1)
    with pytest.raises(BitstreamError, match="exceeds"):
        read_ints(ByteReader(w.getvalue()))
    w = ByteWriter()
    w.u8(1)
    w.uvarint((1 << 24) + 1)
    with pytest.raises(BitstreamError, match="tensor dimension"):
        read_ints(ByteReader(w.getvalue()))
    with pytest.raises(BitstreamError, match="dimensions"):
        read_ints(ByteReader(b"\x09"))
    w = ByteWriter()
    w.u8(2)
    w.uvarint(1 << 12)
    w.uvarint(1 << 12)
    with pytest.raises(BitstreamError, match="exceeds 1000"):
        read_ints(ByteReader(w.getvalue()), max_symbols=1000)
    assert MAX_SYMBOLS == 1 << 28


def _tensor_bytes(flags: int, scales: list[float], offset: float | None = None) -> bytes:
    w = ByteWriter()
    w.u8(1)
    w.uvarint(3)
    w.u8(flags)
    w.raw(np.array(scales, dtype="<f4").tobytes())  # may hold inf: bypass the writer check
    if offset is not None:
        w.f32(offset)
    w.u8(0)
    w.svarint(1)
    return w.getvalue()


def test_tensor_record_validation() -> None:
    assert read_tensor(ByteReader(_tensor_bytes(0x03, [1, 2, 3], 0.5))).offset == 0.5
    with pytest.raises(BitstreamError, match="flags"):
        read_tensor(ByteReader(_tensor_bytes(0x04, [1])))
    with pytest.raises(BitstreamError, match="non-finite"):
        read_tensor(ByteReader(_tensor_bytes(0x01, [1, np.inf, 3])))
    with pytest.raises(BitstreamError, match="offset"):
        read_tensor(ByteReader(_tensor_bytes(0x02, [1], 0.0)))
    with pytest.raises(BitstreamError, match="truncated"):
        read_tensor(ByteReader(_tensor_bytes(0x01, [1, 2, 3])[:8]))
