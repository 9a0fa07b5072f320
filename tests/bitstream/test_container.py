"""Container: header, chunk framing, CRCs, atomic writing, validation."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from bitstream import (
    FORMAT_VERSION,
    MAGIC,
    BitstreamError,
    ColourMatrix,
    Header,
    PixFmt,
    StreamReader,
    StreamWriter,
    encode_stream,
    write_stream,
)
from bitstream.container import MAX_CHUNK_BYTES, MAX_CONFIG_BYTES

HEADER = Header(1920, 1080, 600, 120, 1, PixFmt.YUV420P, ColourMatrix.BT709, 2, b"\x01\x02cfg")
CHUNKS = [(1, b"first"), (2, b""), (255, bytes(range(256)) * 3)]


def test_header_round_trip_and_compactness() -> None:
    data = HEADER.to_bytes()
    assert Header.from_bytes(data) == HEADER
    assert len(data) <= 16 + len(HEADER.model_config)
    assert HEADER.fps == 120 and Header(64, 64, 1, 30000, 1001).fps.denominator == 1001


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(width=0),
        dict(width=16385),
        dict(height=-1),
        dict(num_frames=0),
        dict(num_frames=10_000_001),
        dict(fps_num=0),
        dict(fps_den=0),
        dict(pix_fmt=7),
        dict(colour_matrix=9),
        dict(family_id=70000),
        dict(model_config=b"x" * (MAX_CONFIG_BYTES + 1)),
        dict(model_config="text"),
        dict(width=True),
        dict(width=1.5),
    ],
)
def test_header_validation(kwargs: dict) -> None:
    base = dict(width=64, height=48, num_frames=10, fps_num=25, fps_den=1)
    with pytest.raises(ValueError):
        Header(**{**base, **kwargs})


def test_header_enums_are_coerced() -> None:
    h = Header(8, 8, 1, pix_fmt=1, colour_matrix=1)  # type: ignore[arg-type]
    assert h.pix_fmt is PixFmt.YUV420P and h.colour_matrix is ColourMatrix.BT709


def test_header_from_bytes_rejects_bad_values_with_bitstream_error() -> None:
    from bitstream import ByteWriter

    w = ByteWriter()
    for v in (0, 48, 10, 25, 1):  # width 0
        w.uvarint(v)
    w.raw(b"\x00\x00\x00\x00")  # pix_fmt, matrix, family, empty config
    with pytest.raises(BitstreamError, match="invalid header: width=0"):
        Header.from_bytes(w.getvalue())
    with pytest.raises(BitstreamError, match="trailing"):
        Header.from_bytes(HEADER.to_bytes() + b"\x00")
    with pytest.raises(BitstreamError, match="truncated"):
        Header.from_bytes(HEADER.to_bytes()[:-1])


def test_layout_is_exactly_as_documented() -> None:
    data = encode_stream(HEADER, [(7, b"abc")])
    body = HEADER.to_bytes()
    assert data[:4] == MAGIC and data[4] == FORMAT_VERSION and data[5] == len(body)
    end = 6 + len(body)
    assert data[6:end] == body
    assert int.from_bytes(data[end : end + 4], "little") == zlib.crc32(data[:end])
    chunk = data[end + 4 :]
    assert chunk[:5] == b"\x07\x03abc"
    assert int.from_bytes(chunk[5:], "little") == zlib.crc32(b"\x07abc")


def test_reader_from_bytes_and_path(tmp_path: Path) -> None:
    data = encode_stream(HEADER, CHUNKS)
    path = tmp_path / "a.inrv"
    size = write_stream(path, HEADER, CHUNKS)
    assert size == len(data) == path.stat().st_size and path.read_bytes() == data
    for source in (data, path, str(path)):
        with StreamReader(source) as r:
            assert r.header == HEADER and r.file_size == len(data)
            assert [c.kind for c in r.chunks] == [k for k, _ in CHUNKS]
            assert [r.read_chunk(i) for i in range(3)] == [p for _, p in CHUNKS]
            assert r.header_bytes == r.chunks[0].offset
            last = r.chunks[-1]
            assert last.offset + last.total == r.file_size
            assert [p for _, p in r.iter_chunks()] == [p for _, p in CHUNKS]
            assert r.chunk_reader(2).base_offset == last.payload_offset


def test_empty_stream_has_no_chunks() -> None:
    with StreamReader(encode_stream(HEADER, [])) as r:
        assert r.chunks == []


def test_writer_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.inrv"
    with StreamWriter(path, HEADER) as w:
        info = w.write_chunk(3, b"payload")
        assert info.index == 0 and info.size == 7 and info.total == 2 + 7 + 4
        temp = Path(w.temp_path)
        assert not path.exists() and temp.exists() and temp.parent == tmp_path
        assert temp.name.startswith(".out.inrv.") and temp.name.endswith(".part")
        assert w.bytes_written == info.offset + info.total
    assert path.exists() and not temp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.inrv"]


def test_two_writers_of_one_path_do_not_share_a_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "out.inrv"
    first, second = StreamWriter(path, HEADER), StreamWriter(path, HEADER)
    assert first.temp_path != second.temp_path
    first.write_chunk(1, b"first")
    second.write_chunk(2, b"second one")
    first.close()
    with StreamReader(path) as r:
        assert [c.kind for c in r.chunks] == [1]
    second.close()  # the last to finish wins, whole
    with StreamReader(path) as r:
        assert [c.kind for c in r.chunks] == [2] and r.read_chunk(0) == b"second one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.inrv"]

    with pytest.raises(RuntimeError):
        with StreamWriter(tmp_path / "bad.inrv", HEADER) as w:
            w.write_chunk(1, b"x")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == ["out.inrv"]

    w = StreamWriter(tmp_path / "aborted.inrv", HEADER)
    w.write_chunk(1, b"x")
    w.abort()
    assert os.listdir(tmp_path) == ["out.inrv"]
    with pytest.raises(ValueError, match="closed"):
        w.write_chunk(1, b"y")


def test_writer_does_not_clobber_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "keep.inrv"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        with StreamWriter(path, HEADER) as w:
            w.write_chunk(256, b"")  # invalid kind
    assert path.read_bytes() == b"old"


def test_write_chunk_validation(tmp_path: Path) -> None:
    with StreamWriter(tmp_path / "v.inrv", HEADER) as w:
        for kind in (-1, 256, True):
            with pytest.raises((ValueError, TypeError)):
                w.write_chunk(kind, b"")


def _framed(kind: int, payload: bytes, length: int | None = None) -> bytes:
    from bitstream import ByteWriter

    w = ByteWriter()
    w.u8(kind)
    w.uvarint(len(payload) if length is None else length)
    w.raw(payload)
    w.u32(zlib.crc32(bytes([kind]) + payload))
    return w.getvalue()


def test_bad_magic_and_version() -> None:
    data = encode_stream(HEADER, CHUNKS)
    with pytest.raises(BitstreamError, match="bad magic"):
        StreamReader(b"RIFF" + data[4:])
    with pytest.raises(BitstreamError, match="bad magic"):
        StreamReader(b"IN")
    with pytest.raises(BitstreamError, match=r"version 2.*supports version\(s\) 1"):
        StreamReader(data[:4] + b"\x02" + data[5:])


def test_header_crc_and_truncation() -> None:
    data = bytearray(encode_stream(HEADER, CHUNKS))
    flipped = bytearray(data)
    flipped[7] ^= 0x01
    with pytest.raises(BitstreamError, match="header CRC"):
        StreamReader(bytes(flipped))
    for n in (5, 6, 12, len(HEADER.to_bytes()) + 8):
        with pytest.raises(BitstreamError):
            StreamReader(bytes(data[:n]))


def test_chunk_crc_mismatch_names_chunk_and_offset() -> None:
    data = bytearray(encode_stream(HEADER, CHUNKS))
    with StreamReader(bytes(data)) as r:
        target = r.chunks[2]
    data[target.payload_offset + 10] ^= 0x40
    with StreamReader(bytes(data)) as r:
        r.read_chunk(0)
        with pytest.raises(BitstreamError, match="CRC") as info:
            r.read_chunk(2)
    assert info.value.chunk == 2 and info.value.offset == target.offset


def test_chunk_head_reads_a_prefix_without_the_crc() -> None:
    data = bytearray(encode_stream(HEADER, CHUNKS))
    with StreamReader(bytes(data)) as r:
        assert r.read_chunk_head(2, 5) == bytes(range(5))
        assert r.read_chunk_head(0, 100) == b"first"  # shorter than asked: the whole payload
        assert r.read_chunk_head(1, 4) == b""
        target = r.chunks[2]
    data[target.payload_offset + 10] ^= 0x40  # damage after the head: the head still reads
    with StreamReader(bytes(data)) as r:
        assert r.read_chunk_head(2, 5) == bytes(range(5))
        with pytest.raises(BitstreamError, match="CRC"):
            r.read_chunk(2)


def test_truncated_and_trailing_garbage() -> None:
    data = encode_stream(HEADER, CHUNKS)
    with pytest.raises(BitstreamError, match="truncated chunk") as info:
        StreamReader(data[:-1])
    assert info.value.chunk == 2
    with pytest.raises(BitstreamError):
        StreamReader(data + b"\x01")
    with pytest.raises(BitstreamError, match="truncated chunk"):
        StreamReader(data + b"\x01\x05ab")


def test_chunk_length_limits() -> None:
    pre = encode_stream(HEADER, [])
    with pytest.raises(BitstreamError, match="exceeds the limit"):
        StreamReader(pre + _framed(1, b"", length=MAX_CHUNK_BYTES + 1))
    with pytest.raises(BitstreamError, match="truncated chunk"):
        StreamReader(pre + _framed(1, b"", length=MAX_CHUNK_BYTES))


def test_many_chunks_scan_is_fast() -> None:
    data = encode_stream(HEADER, [(0, b"")] * 20_000)
    with StreamReader(data) as r:
        assert len(r.chunks) == 20_000


def test_reader_closes_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.inrv"
    path.write_bytes(b"XXXX")
    with pytest.raises(BitstreamError):
        StreamReader(path)
    write_stream(path, HEADER, CHUNKS)
    r = StreamReader(path)
    r.close()
    r.close()  # idempotent
