"""The checked-in golden stream pins format version 1 byte for byte."""

from __future__ import annotations

import numpy as np

from bitstream import FORMAT_VERSION, Method, QuantizedTensor, StreamReader
from tests.bitstream.make_golden import GOLDEN_PATH, decode_payload, golden_bytes, golden_header, golden_records


def test_golden_file_is_reproduced_byte_for_byte() -> None:
    assert FORMAT_VERSION == 1, "a new format version needs a new golden file"
    assert golden_bytes() == GOLDEN_PATH.read_bytes()


def test_golden_file_decodes_to_the_expected_content() -> None:
    expected = golden_records()
    with StreamReader(GOLDEN_PATH) as r:
        assert r.header == golden_header()
        assert [c.kind for c in r.chunks] == [10, 11, 12]
        for i, chunk in enumerate(expected):
            decoded = decode_payload(r.chunk_reader(i))
            assert len(decoded) == len(chunk)
            for (kind, got), (kind2, want) in zip(decoded, chunk):
                assert kind == kind2
                if isinstance(want, QuantizedTensor):
                    assert got == want
                else:
                    np.testing.assert_array_equal(got, want)
                    assert got.shape == np.asarray(want).shape


def test_golden_file_exercises_every_method() -> None:
    data = GOLDEN_PATH.read_bytes()
    from bitstream import encode_ints

    # each method's tag byte followed by its own parameters appears in the file
    for method in Method:
        seen = False
        for chunk in golden_records():
            for _, value in chunk:
                codes = value.codes if isinstance(value, QuantizedTensor) else np.asarray(value)
                try:
                    enc = encode_ints(codes, methods=[method])
                except ValueError:
                    continue
                seen = seen or (len(enc) > 1 and enc in data)
        assert seen, method
