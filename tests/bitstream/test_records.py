"""The family records' shared parts: the chunk-kind table and the one reader and writer of integer
arrays whose shapes the reader knows (:func:`bitstream.tensor.write_arrays` / ``read_arrays``)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bitstream import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.records.kinds import CHUNK_NAMES, KINDS, kinds_of
from bitstream.tensor import read_arrays, write_arrays, write_ints


def test_kinds_are_permanent_and_unique():
    assert [(k.code, k.name) for k in KINDS] == [(1, "network"), (2, "embeddings"), (3, "group"),
                                                 (4, "segment"), (5, "grid"), (6, "frame")]
    assert len(CHUNK_NAMES) == len(KINDS) == len({k.name for k in KINDS})
    assert [k.code for k in kinds_of("hnerv")] == [1, 2]


def test_every_kind_names_a_records_module_and_registered_families():
    from codec.registry import family_names

    for kind in KINDS:
        assert importlib.import_module(kind.records).__name__ == kind.records
        assert set(kind.families) <= set(family_names()), kind


def _arrays():
    rng = np.random.default_rng(0)
    return [rng.integers(-40, 40, size=(3, 4)), np.zeros((0, 5), dtype=np.int64), rng.integers(0, 3, size=(7,))]


def test_arrays_round_trip():
    w = ByteWriter()
    arrays = _arrays()
    write_arrays(w, arrays)
    r = ByteReader(w.getvalue())
    back = read_arrays(r, [a.shape for a in arrays])
    r.expect_end()
    assert all(b.dtype == np.int64 and np.array_equal(a, b) for a, b in zip(arrays, back))


def test_framed_arrays_take_their_count_from_the_shape_given():
    w = ByteWriter()
    write_ints(w, np.arange(12).reshape(2, 6))
    back = read_arrays(ByteReader(w.getvalue()), [(3, 4)], framed=True)
    assert np.array_equal(back[0], np.arange(12).reshape(3, 4))
    w = ByteWriter()
    write_ints(w, np.arange(10))
    with pytest.raises(BitstreamError, match="needs 12"):
        read_arrays(ByteReader(w.getvalue(), chunk=2), [(3, 4)], framed=True)
