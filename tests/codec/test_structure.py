"""Coding structures (``codec.tools.structure``) and the chain decoder (``codec.tools.chain``):
constructors' orders, references and depths; what a frame range needs; the chain decoder's cache
on real grid, nirvana and teconerv streams (seeking gives the frames a fresh decoder gives, and
reads no chunk it holds a state for)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import codec
from bitstream.container import StreamReader
from codec.config import EncodeConfig
from codec.family import Geometry
from codec.registry import get_family
from codec.streaminfo import describe_stream
from codec.tools.chain import ChainDecoder, ReferenceFrames, add_codes
from codec.tools.structure import (
    INTER,
    INTRA,
    CodedFrame,
    CodingStructure,
    StructureChunk,
    group_sizes,
    groups,
    low_delay,
    random_access,
)
from codec.video import write_video

RA33_ORDER = [0, 32, 16, 8, 4, 2, 1, 3, 6, 5, 7, 12, 10, 9, 11, 14, 13, 15,
              24, 20, 18, 17, 19, 22, 21, 23, 28, 26, 25, 27, 30, 29, 31]


def _rows(s: CodingStructure) -> dict[int, tuple[str, tuple[int, ...], int]]:
    return {f.display: (f.letter, f.refs, f.depth) for f in s.frames}


def test_random_access_33_frames():
    s = random_access(33, intra_period=32)
    assert list(s.coding_order()) == RA33_ORDER  # HM's order: the period's end, then depth first
    rows = _rows(s)
    assert rows[0] == rows[32] == ("I", (), 0)  # the period's end is intra (HM's CRA), not a P frame
    assert rows[16] == ("B", (0, 32), 1)
    assert rows[8] == ("B", (0, 16), 2) and rows[24] == ("B", (16, 32), 2)
    assert rows[4] == ("B", (0, 8), 3) and rows[12] == ("B", (8, 16), 3)
    assert rows[2] == ("B", (0, 4), 4) and rows[1] == ("B", (0, 2), 5) and rows[31] == ("B", (30, 32), 5)
    assert [sum(f.depth == d for f in s.frames) for d in range(6)] == [2, 1, 2, 4, 8, 16]
    assert [f.display for f in s.display_order()] == list(range(33))
    assert len(s.chunks) == 33 and all(c.count == 1 and c.base is None for c in s.chunks)
    assert [c.direct for c in s.chunks] == [True, True] + [False] * 31


def test_random_access_17_frames_and_tails():
    s = random_access(17, intra_period=32)  # shorter than a period: it ends with a P frame
    assert list(s.coding_order()) == [0, 16, 8, 4, 2, 1, 3, 6, 5, 7, 12, 10, 9, 11, 14, 13, 15]
    rows = _rows(s)
    assert rows[16] == ("P", (0,), 0) and rows[8] == ("B", (0, 16), 1) and rows[15] == ("B", (14, 16), 4)
    assert max(f.depth for f in s.frames) == 4
    s = random_access(17, intra_period=8)  # two periods: intra at 0, 8 and 16
    assert [f.display for f in s.frames if f.kind == INTRA] == [0, 8, 16]
    assert _rows(s)[12] == ("B", (8, 16), 1)
    s = random_access(20, intra_period=8)  # a tail of 3 after 16: P19, then its halves
    assert list(s.coding_order())[-3:] == [19, 17, 18]
    rows = _rows(s)
    assert rows[19] == ("P", (16,), 0) and rows[17] == ("B", (16, 19), 1) and rows[18] == ("B", (17, 19), 2)
    assert list(random_access(1).coding_order()) == [0] and list(random_access(2).coding_order()) == [0, 1]


def test_low_delay():
    s = low_delay(6)
    assert list(s.coding_order()) == list(range(6))
    assert [(f.letter, f.refs, f.depth) for f in s.frames] == [("I", (), 0)] + [("P", (d - 1,), 1) for d in range(1, 6)]
    s = low_delay(9, intra_period=4)
    assert [f.display for f in s.frames if f.kind == INTRA] == [0, 4, 8]
    assert s.needed(6, 7).frames == (4, 5, 6)  # back to the intra frame, not further


def test_groups_with_scene_cuts_and_direct_groups():
    assert group_sizes(11, 4) == [4, 4, 3]
    s = groups(11, 4)
    assert [(c.first, c.count, c.base, c.direct, c.cut) for c in s.chunks] == [
        (0, 4, None, True, False), (4, 4, 0, False, False), (8, 3, 1, False, False)]  # the short tail: no cut
    assert {f.kind for f in s.frames if f.chunk == 0} == {INTRA} and {f.depth for f in s.frames if f.chunk} == {1}
    s = groups(12, 4, counts=[4, 2, 4, 2])  # a scene cut after frame 5 (nirvana's counts from chunk heads)
    assert [c.cut for c in s.chunks] == [False, True, False, False]
    assert [(c.first, c.count) for c in s.chunks] == [(0, 4), (4, 2), (6, 4), (10, 2)]
    need = s.needed(7, 8)
    assert (need.frames, need.chunks, need.rendered) == ((7,), (0, 1, 2), (2,))  # the chain, one render
    assert s.needed(3, 5).rendered == (0, 1)
    # teconerv: segments 0 and 2 direct; segment 2 still takes the steps from segment 0
    s = groups(32, 8, direct=(0, 2), params=0)
    assert [c.base for c in s.chunks] == [None, 0, 0, 2]
    assert s.chain(3) == (0, 2, 3) and s.needed(25, 27).chunks == (0, 2, 3)
    assert groups(32, 8, direct=(0, 2)).chain(3) == (2, 3)  # no stream-wide parameters: a clean restart
    with pytest.raises(ValueError):
        groups(12, 4, counts=[4, 4])


def test_needed_follows_references_transitively():
    s = random_access(33)
    need = s.needed(5, 6)
    assert need.frames == (0, 32, 16, 8, 4, 6, 5)  # in coding order
    assert need.rendered == need.chunks == tuple(sorted(s.frame(d).chunk for d in need.frames))
    assert set(s.needed(0, 33).frames) == set(range(33))
    with pytest.raises(ValueError):
        s.needed(3, 34)


def test_structure_checks_itself():
    with pytest.raises(ValueError):  # references a frame coded after it
        CodingStructure((CodedFrame(0, INTER, (1,), 1, 0), CodedFrame(1, INTRA, (), 0, 1)),
                        (StructureChunk(0, 0, 1, None, False), StructureChunk(1, 1, 1, None, True)))
    with pytest.raises(ValueError):  # frame 1 missing
        CodingStructure((CodedFrame(0, INTRA, (), 0, 0), CodedFrame(2, INTRA, (), 0, 0)),
                        (StructureChunk(0, 0, 3, None, True),))


def test_table_prints_each_frame_or_run():
    text = random_access(33, intra_period=32).table()
    lines = text.splitlines()
    assert lines[0].startswith("coding structure: random access, intra period 32; 33 frames (2 I, 31 B)")
    assert lines[1].split() == ["order", "display", "type", "refs", "depth", "chunk", "base"]
    assert lines[4].split() == ["2", "16", "B", "0,32", "1", "2", "-"]
    assert len(lines) == 2 + 33
    rows = [line.split() for line in groups(12, 4, counts=[4, 2, 4, 2]).table().splitlines()[2:]]
    assert rows == [["0..3", "0..3", "I", "-", "0", "0", "-"], ["4..5", "4..5", "P", "-", "1", "1", "0"],
                    ["6..9", "6..9", "P", "-", "1", "2", "1"], ["10..11", "10..11", "P", "-", "1", "3", "2"]]


def test_chain_decoder_keeps_the_last_states():
    s = groups(10, 1)  # ten one-frame groups, each a residual of the one before
    applied: list[int] = []

    def step(base, g):
        applied.append(g)
        return add_codes(base, [np.array([g + 1])], "codes")

    chain = ChainDecoder(s, step, keep=3)
    assert int(chain.state(5)[0][0]) == sum(range(1, 7)) and applied == [0, 1, 2, 3, 4, 5]
    applied.clear()
    assert int(chain.state(3)[0][0]) == sum(range(1, 5)) and applied == []  # held: 3, 4, 5
    assert int(chain.state(7)[0][0]) == sum(range(1, 9)) and applied == [6, 7]
    applied.clear()
    chain.state(1)  # not held any more: from the chain's start
    assert applied == [0, 1]
    from bitstream import BitstreamError

    with pytest.raises(BitstreamError, match="codes out of range"):
        add_codes([np.array([2**30 - 1])], [np.array([1])], "codes", 4)


def test_chain_decoder_pins_the_parameters_of_direct_chunks():
    s = groups(40, 8, direct=(0, 3), params=0)
    applied: list[int] = []
    chain = ChainDecoder(s, lambda base, g: applied.append(g) or g, keep=1)
    chain.state(2)
    chain.state(4)  # segment 3 is direct but builds on segment 0's parameters, held all along
    assert applied == [0, 1, 2, 3, 4]


def test_reference_frames_are_bounded_and_released():
    for n, period, limit in [(9, 8, 4), (33, 32, 6), (70, 32, 6)]:
        s = random_access(n, intra_period=period)  # 9 frames: 0, 8, 4, 2, 1, 3, 6, 5, 7
        refs = ReferenceFrames(s, limit=limit)
        for position, d in enumerate(s.coding_order()):
            # depth first: the deepest depth + 1 references suffice (0, 8, 4 and 2 when 1 is decoded)
            assert all(r in refs for r in s.frame(d).refs)
            refs.put(d, f"frame {d}")
            refs.release(position)
        assert len(refs) == 0
    refs = ReferenceFrames(random_access(9, intra_period=8), limit=3)
    for d in (0, 8, 4, 2):
        refs.put(d, f"frame {d}")
    assert 0 not in refs and len(refs) == 3  # the least recently used goes
    refs.put(1, "x")  # frame 1 is nobody's reference: not kept
    assert 1 not in refs


class CountingStream:
    """A stream's chunks, counting the full reads (heads are free)."""

    def __init__(self, reader: StreamReader) -> None:
        self.reader, self.chunks, self.reads = reader, reader.chunks, []

    def read_chunk(self, index: int) -> bytes:
        self.reads.append(index)
        return self.reader.read_chunk(index)

    def read_chunk_head(self, index: int, n: int) -> bytes:
        return self.reader.read_chunk_head(index, n)


OPTIONS = {"nirvana": {"steps": 10, "gop": 4, "patch": 16, "preset": "xs"},
           "grid": {"steps": 10, "gop": 4},
           "teconerv": {"key_interval": 2}}


@pytest.fixture(scope="module")
def clip24(tmp_path_factory, carphone_frames):
    """24 frames of 40x36: six groups of 4, three teconerv segments of 8."""
    frames = np.concatenate([carphone_frames, carphone_frames[::-1]] * 2)[:, 40:76, 60:100]
    path = tmp_path_factory.mktemp("structure") / "clip.y4m"
    write_video(path, np.ascontiguousarray(frames), fps=25)
    return path


@pytest.mark.parametrize("name", ["nirvana", "grid", "teconerv"])
def test_seeking_reads_each_chunk_once_and_matches_fresh_decodes(name, clip24, tmp_path):
    out = tmp_path / f"{name}.inrv"
    codec.encode(clip24, out, EncodeConfig.of(model=name, device="cpu", progress=False, **OPTIONS[name]))
    family, cpu = get_family(name), torch.device("cpu")
    with StreamReader(out) as reader:
        h = reader.header
        config = family.unpack(h.model_config)
        geometry = Geometry(h.width, h.height, h.num_frames, Fraction(h.fps_num, h.fps_den))
        structure = family.structure(config, geometry, reader)
        stream = CountingStream(reader)
        decoder = family.decoder(config, geometry, stream, cpu)
        last = h.num_frames - 1
        reads = []
        for a, b in [(last, last + 1), (0, 1), (last - 1, last + 1), (1, last + 1), (5, 9)]:
            stream.reads.clear()
            got = np.concatenate(list(decoder.render(a, b)))
            fresh = np.concatenate(list(family.decoder(config, geometry, reader, cpu).render(a, b)))
            assert np.array_equal(got, fresh), (a, b)
            reads.append(list(stream.reads))
        direct = [decoder.record(c.index).direct for c in structure.chunks] if name == "teconerv" else None
    n = len(structure.chunks)
    assert reads[0] == list(structure.needed(last, last + 1).chunks)  # the chain to the last frame, once each
    assert reads[1] == ([] if name == "teconerv" else [0])  # teconerv holds segment 0 (its steps) all along
    assert reads[2] == []  # back to the end: its state is held
    assert sorted(set(reads[3])) == reads[3] and len(reads[3]) < n  # forward again: only what it lacks
    if name == "teconerv":
        assert n == 3 and structure.chain(2) == (0, 2) and [c.direct for c in structure.chunks] == direct
    else:
        assert n == 6 and structure.chain(n - 1) == tuple(range(n))
    assert "coding structure: groups of" in describe_stream(out)
