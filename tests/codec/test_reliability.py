"""Streams and commands that must not exhaust memory or disk, leave debris or destroy their input
(each test fails on the code before its fix)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

import codec
from bitstream import BitstreamError, ByteReader, ByteWriter, StreamReader, encode_stream
from bitstream.entropy import Method
from bitstream.payloads import CHUNK_EMBEDDINGS, CHUNK_NETWORK
from codec.config import EncodeConfig


def _small(tmp_path_factory, carphone_y4m, model: str):
    path = tmp_path_factory.mktemp("small") / f"{model}.inrv"
    codec.encode(carphone_y4m, path, EncodeConfig.of(model=model, preset="xs", steps=2, count=2,
                                                    device="cpu", progress=False))
    with StreamReader(path) as reader:
        return reader.header, [(info.kind, payload) for info, payload in reader.iter_chunks()]


def constant_record(shape: tuple[int, ...]) -> bytes:
    """A quantized tensor record of ``shape``, every code 0 (CONST): a few bytes for any size."""
    w = ByteWriter()
    w.u8(len(shape))
    for d in shape:
        w.uvarint(d)
    w.u8(0)
    w.f32(1.0)
    w.u8(Method.CONST)
    w.svarint(0)
    return w.getvalue()


@pytest.mark.parametrize("model, kind", [("nerv", CHUNK_NETWORK), ("hnerv", CHUNK_EMBEDDINGS)])
def test_a_record_larger_than_the_model_is_refused_before_decoding(tmp_path_factory, carphone_y4m, tmp_path,
                                                                   model, kind):
    """A record claiming 2^24 x 16 values (CRC valid): before the fix, 4 GB decoded in 86 s."""
    header, chunks = _small(tmp_path_factory, carphone_y4m, model)
    index = next(i for i, (k, _) in enumerate(chunks) if k == kind)
    w = ByteWriter()
    w.uvarint(ByteReader(chunks[index][1]).uvarint())  # the count the model needs
    chunks[index] = (kind, w.getvalue() + constant_record((2**24, 16)))
    path = tmp_path / "bomb.inrv"
    path.write_bytes(encode_stream(header, chunks))
    start = time.perf_counter()
    with pytest.raises(BitstreamError, match="the model needs"):
        with codec.open(path, device="cpu") as coded:
            list(coded.frames())
    assert time.perf_counter() - start < 2.0
