"""Hostile input: every damaged stream must decode fully or raise BitstreamError, quickly.

Default run: about 50 cases per strategy (~350 in all, derandomised). ``-m slow`` runs
thousands per strategy with fresh randomness. Decoding uses ``max_symbols=1 << 20`` per
record, as a caller that knows its model sizes would; the default cap (2**28) is tested
in test_tensor.py.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream import (
    BitstreamError,
    ByteReader,
    ByteWriter,
    Method,
    QuantizedTensor,
    StreamReader,
    decode_ints,
    encode_stream,
    read_ints,
    read_tensor,
    write_ints,
    write_tensor,
)
from tests.bitstream.make_golden import decode_payload, golden_bytes, golden_header

VALID = golden_bytes()
with StreamReader(VALID) as _r:
    CHUNKS = [(info.kind, payload) for info, payload in _r.iter_chunks()]
MAX_SYMBOLS = 1 << 20
TIME_LIMIT_S = 1.0

FAST = settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(
    max_examples=4000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def decode_everything(data: bytes) -> None:
    """Header, every chunk (CRC), every record in every chunk."""
    with StreamReader(data) as r:
        for i in range(len(r.chunks)):
            decode_payload(r.chunk_reader(i), max_symbols=MAX_SYMBOLS)


def must_decode_or_raise(fn: Callable[[], Any]) -> None:
    start = time.perf_counter()
    try:
        fn()
    except BitstreamError:
        pass
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_S, f"decoding took {elapsed:.2f} s"


def _pair(body: Callable[..., None], **strategies: st.SearchStrategy) -> tuple[Any, Any]:
    """A fast (default run) and a slow (``-m slow``) property test from one body."""
    fast = FAST(given(**strategies)(body))
    slow = pytest.mark.slow(SLOW(given(**strategies)(body)))
    return fast, slow


def test_valid_stream_decodes() -> None:
    decode_everything(VALID)


positions = st.integers(0, len(VALID) - 1)


def _truncate(k: int) -> None:
    must_decode_or_raise(lambda: decode_everything(VALID[:k]))


def _flip(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    must_decode_or_raise(lambda: decode_everything(bytes(data)))


def _splice(pos: int, junk: bytes, mode: str) -> None:
    if mode == "insert":
        data = VALID[:pos] + junk + VALID[pos:]
    elif mode == "overwrite":
        data = VALID[:pos] + junk + VALID[pos + len(junk) :]
    else:
        data = VALID[:pos] + VALID[pos + len(junk) :]
    must_decode_or_raise(lambda: decode_everything(data))


def _payload_damage(chunk: int, flips: list[tuple[int, int]], cut: int) -> None:
    """Damage inside a chunk, CRC recomputed: this reaches the entropy decoders."""
    kind, payload = CHUNKS[chunk]
    data = bytearray(payload)
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    chunks = list(CHUNKS)
    chunks[chunk] = (kind, bytes(data[: len(data) - cut]))
    stream = encode_stream(golden_header(), chunks)
    must_decode_or_raise(lambda: decode_everything(stream))


flip_lists = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 7)), min_size=1, max_size=8)

test_truncation, test_truncation_slow = _pair(_truncate, k=positions)
test_bit_flips, test_bit_flips_slow = _pair(
    _flip, flips=st.lists(st.tuples(positions, st.integers(0, 7)), min_size=1, max_size=8)
)
test_splices, test_splices_slow = _pair(
    _splice,
    pos=positions,
    junk=st.binary(min_size=1, max_size=32),
    mode=st.sampled_from(["insert", "overwrite", "delete"]),
)
test_payload_damage, test_payload_damage_slow = _pair(
    _payload_damage, chunk=st.integers(0, len(CHUNKS) - 1), flips=flip_lists, cut=st.integers(0, 3)
)


# -- records fed directly to the tensor / entropy decoders -------------------------
def _records() -> list[bytes]:
    rng = np.random.default_rng(7)
    lap = np.round(rng.laplace(0, 5, (32, 16))).astype(np.int32)
    out = []
    for method in Method:
        w = ByteWriter()
        if method is Method.CONST:
            write_ints(w, np.full((4, 4), -3), methods=[method])
        else:
            write_tensor(w, QuantizedTensor(lap.shape, lap, np.ones(32, np.float32)), methods=[method])
        out.append(w.getvalue())
    return out


RECORDS = _records()


def _read_any(data: bytes, as_tensor: bool) -> None:
    r = ByteReader(data)
    if as_tensor:
        read_tensor(r, max_symbols=MAX_SYMBOLS)
    else:
        read_ints(r, max_symbols=MAX_SYMBOLS)


def _record_damage(which: int, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(RECORDS[which])
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    damaged = bytes(data[: max(0, len(data) - cut)])
    must_decode_or_raise(lambda: _read_any(damaged, which != Method.CONST))


def _random_record(data: bytes, as_tensor: bool) -> None:
    must_decode_or_raise(lambda: _read_any(data, as_tensor))


def _random_entropy(data: bytes, count: int) -> None:
    must_decode_or_raise(lambda: decode_ints(data, count))


test_record_damage, test_record_damage_slow = _pair(
    _record_damage, which=st.integers(0, len(RECORDS) - 1), flips=flip_lists, cut=st.integers(0, 4)
)
test_random_records, test_random_records_slow = _pair(
    _random_record, data=st.binary(max_size=96), as_tensor=st.booleans()
)
test_random_entropy, test_random_entropy_slow = _pair(
    _random_entropy,
    data=st.one_of(
        st.binary(max_size=96),
        st.builds(lambda tag, rest: bytes([tag]) + rest, st.integers(0, 4), st.binary(max_size=96)),
    ),
    count=st.integers(0, 5000),
)
