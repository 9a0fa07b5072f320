"""Entropy coding: round trips, method choice, efficiency and validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bitstream import BitstreamError, ByteReader, ByteWriter, Method, decode_ints, encode_ints, peek_method
from bitstream.entropy import MAX_SYMBOLS


def round_trip(x: np.ndarray, **kw: object) -> bytes:
    data = encode_ints(x, **kw)  # type: ignore[arg-type]
    y = decode_ints(data, x.size)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, np.asarray(x).ravel())
    return data


def entropy_bytes(x: np.ndarray) -> float:
    _, counts = np.unique(x, return_counts=True)
    return float(-(counts * np.log2(counts / x.size)).sum() / 8)


def laplace(scale: float, n: int = 100_000, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).laplace(0, scale, n)).astype(np.int32)


def test_empty_array_is_zero_bytes() -> None:
    assert encode_ints(np.zeros(0, dtype=np.int32)) == b""
    assert decode_ints(b"", 0).shape == (0,)
    assert peek_method(b"") is None


@pytest.mark.parametrize("value", [0, 1, -1, 2**31 - 1, -(2**31)])
def test_constant(value: int) -> None:
    data = round_trip(np.full(100_000, value, dtype=np.int64))
    assert peek_method(data) is Method.CONST
    assert len(data) <= 6  # tag + varint: no payload


def test_laplace_chosen_and_near_entropy() -> None:
    for scale in (2, 20):
        x = laplace(scale)
        data = round_trip(x)
        assert peek_method(data) is Method.LAPLACE
        assert len(data) < 1.01 * entropy_bytes(x)


def test_gaussian_chosen_for_gaussian_data() -> None:
    x = np.round(np.random.default_rng(1).normal(3, 6, 50_000)).astype(np.int32)
    data = round_trip(x)
    assert peek_method(data) is Method.GAUSSIAN
    assert len(data) < 1.01 * entropy_bytes(x)


def test_empirical_chosen_for_multimodal_data() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.integers(-3, 4, 20_000), rng.integers(500, 504, 20_000)])
    data = round_trip(x)
    assert peek_method(data) is Method.EMPIRICAL
    assert len(data) < 1.01 * entropy_bytes(x) + 64


def test_raw_chosen_for_tiny_wide_arrays() -> None:
    data = round_trip(np.array([5, -1_000_000, 3, 12]))
    assert peek_method(data) is Method.RAW
    assert len(data) <= 2 + 3 + 10


def test_huge_sparse_alphabet() -> None:
    rng = np.random.default_rng(3)
    alphabet = np.array([-(2**31), -77, 0, 7, 10**9, 2**31 - 1])
    x = alphabet[rng.integers(0, len(alphabet), 20_000)]
    data = round_trip(x)
    assert peek_method(data) is Method.EMPIRICAL
    assert len(data) < entropy_bytes(x) + 64


def test_wide_spread_many_distinct_values() -> None:
    rng = np.random.default_rng(4)
    round_trip(rng.integers(-(2**31), 2**31, 5000))  # > MAX_ALPHABET span: raw or empirical
    round_trip(np.round(rng.laplace(0, 3000, 100_000)).astype(np.int32))


def test_skewed_large_alphabet_side_info_is_compact() -> None:
    rng = np.random.default_rng(5)
    p = np.arange(1, 4001, dtype=np.float64) ** -1.1
    x = rng.choice(4000, size=200_000, p=p / p.sum())
    data = round_trip(x)
    assert len(data) < 1.03 * entropy_bytes(x)


@pytest.mark.parametrize("method", list(Method))
def test_every_method_forced(method: Method) -> None:
    x = laplace(4, 3000) if method is not Method.CONST else np.full(10, 3)
    data = round_trip(x, methods=[method])
    assert peek_method(data) is method


def test_forcing_an_inapplicable_method_raises() -> None:
    with pytest.raises(ValueError):
        encode_ints(np.full(10, 3), methods=[Method.LAPLACE])


@pytest.mark.parametrize(
    "bad",
    [
        np.array([1.5]),
        np.array([2**31]),
        np.array([-(2**31) - 1]),
        np.array(["a"]),
        np.array([2**64 - 1], dtype=np.uint64),
    ],
)
def test_encoder_rejects_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_ints(bad)


def test_decoder_consumes_exactly_its_bytes() -> None:
    w = ByteWriter()
    w.raw(encode_ints(laplace(3, 1000)))
    w.u8(0xAB)
    r = ByteReader(w.getvalue())
    decode_ints(r, 1000)
    assert r.u8() == 0xAB
    with pytest.raises(BitstreamError, match="trailing"):
        decode_ints(w.getvalue(), 1000)


def test_decoder_validation() -> None:
    data = encode_ints(laplace(3, 1000))
    with pytest.raises(BitstreamError, match="unknown entropy method tag 9"):
        decode_ints(b"\x09", 5)
    with pytest.raises(BitstreamError, match="symbol count"):
        decode_ints(data, MAX_SYMBOLS + 1)
    with pytest.raises(BitstreamError):  # wrong count: ANS state does not end empty
        decode_ints(data, 999)
    with pytest.raises(BitstreamError):
        decode_ints(data[:-1], 1000)
    with pytest.raises(BitstreamError, match="does not fit int32"):
        decode_ints(b"\x00" + b"\x80\x80\x80\x80\x10", 3)  # constant 2**31
    emp = encode_ints(np.array([0, 1, 1, 2] * 50), methods=[Method.EMPIRICAL])
    with pytest.raises(BitstreamError, match="counts|symbols|histogram"):
        decode_ints(emp, 201)


def test_raw_decoder_checks_width_and_range() -> None:
    with pytest.raises(BitstreamError, match="bit width"):
        decode_ints(b"\x01\x00\x21" + b"\x00" * 8, 2)
    with pytest.raises(BitstreamError, match="fit int32"):  # lo=0, width 32, value 2**32-1
        decode_ints(b"\x01\x00\x20" + b"\xff" * 4, 1)
    with pytest.raises(BitstreamError, match="padding"):
        decode_ints(b"\x01\x00\x01\xf0", 2)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.int64,
        st.integers(1, 300),
        elements=st.one_of(st.integers(-5, 5), st.integers(-(2**31), 2**31 - 1)),
    )
)
def test_round_trip_property(x: np.ndarray) -> None:
    data = round_trip(x)
    for method in Method:
        try:
            forced = encode_ints(x, methods=[method])
        except ValueError:
            continue
        np.testing.assert_array_equal(decode_ints(forced, x.size), x)
        assert len(data) <= len(forced)  # the chosen method is the smallest
