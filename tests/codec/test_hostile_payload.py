"""Damaged chunk payloads and model configs behind valid CRCs (what a hostile writer can make): a family's decoder
renders the frames or raises one BitstreamError, quickly, never anything else.

Small real files of every family; bytes replaced, cut or appended inside one chunk or the
header's model config, the stream re-framed so that every CRC is right. Default run: 40 cases per family (derandomised); ``-m slow``
runs 1000 per family with fresh randomness.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codec
from bitstream import BitstreamError, StreamReader, encode_stream
from bitstream.container import MAX_CONFIG_BYTES
from codec.config import EncodeConfig

FAMILIES = ("nerv", "hnerv", "nirvana")
TIME_LIMIT_S = 5.0
COMMON = dict(deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def streams(tmp_path_factory, carphone_y4m) -> dict[str, tuple[object, list[tuple[int, bytes]], tuple]]:
    out = {}
    for family in FAMILIES:
        path = tmp_path_factory.mktemp("payload") / f"{family}.inrv"
        extra = dict(gop=2, patch=16) if family == "nirvana" else {}
        codec.encode(carphone_y4m, path, EncodeConfig.of(model=family, preset="xs", steps=3, count=4,
                                                       device="cpu", progress=False, **extra))
        with StreamReader(path) as reader:
            chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
            header = reader.header
        out[family] = (header, chunks, (4, 144, 176, 3))
    return out


edits = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 10**9), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("cut"), st.integers(0, 10**9), st.just(b"")),
    st.tuples(st.just("append"), st.just(0), st.binary(min_size=1, max_size=64)),
)


def _damage(payload: bytes, edit: tuple[str, int, bytes]) -> bytes:
    kind, where, data = edit
    if kind == "append":
        return payload + data
    pos = where % max(1, len(payload))
    if kind == "cut":
        return payload[:pos]
    return payload[:pos] + data + payload[pos + len(data):]


def _check(streams, tmp_path_factory, family: str, chunk: int, edit) -> None:
    """``chunk`` picks a chunk's payload, or (every fifth value) the header's model config."""
    header, chunks, shape = streams[family]
    damaged = list(chunks)
    if chunk % 5 == 4:
        config = _damage(header.model_config, edit)[:MAX_CONFIG_BYTES]
        header = dataclasses.replace(header, model_config=config)
    else:
        index = chunk % len(chunks)
        kind, payload = chunks[index]
        damaged[index] = (kind, _damage(payload, edit))
    path = tmp_path_factory.mktemp("damaged") / "d.inrv"
    path.write_bytes(encode_stream(header, damaged))
    start = time.perf_counter()
    try:
        with codec.open(path, device="cpu") as coded:
            frames = np.stack(list(coded.frames()))
        assert frames.shape == shape and frames.dtype == np.uint8
    except BitstreamError:
        pass
    assert time.perf_counter() - start < TIME_LIMIT_S


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=40, derandomize=True, **COMMON)
@given(chunk=st.integers(0, 64), edit=edits)
def test_damaged_payload_decodes_or_raises(streams, tmp_path_factory, family, chunk, edit):
    _check(streams, tmp_path_factory, family, chunk, edit)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=1000, **COMMON)
@given(chunk=st.integers(0, 64), edit=edits)
def test_damaged_payload_decodes_or_raises_at_scale(streams, tmp_path_factory, family, chunk, edit):
    _check(streams, tmp_path_factory, family, chunk, edit)
