"""The ``.inrv`` file container: magic, version, header, CRC-framed chunks.

Layout (all integers little-endian, varints as in :mod:`bitstream.fields`)::

    magic        4 bytes   b"INRV"
    version      u8        FORMAT_VERSION (1)
    header_len   uvarint   length of the header bytes (<= MAX_HEADER_BYTES)
    header       header_len bytes, see Header.to_bytes
    header_crc   u32       CRC-32 (zlib) of every byte above: magic .. end of header
    chunk*       repeated until the end of the file:
        kind     u8        chunk kind (meaning defined by the codec)
        length   uvarint   payload length (<= MAX_CHUNK_BYTES)
        payload  length bytes
        crc      u32       CRC-32 of the kind byte followed by the payload

The chunk table is scanned when a :class:`StreamReader` opens (chunk headers only);
payloads are read and CRC-checked on demand by :meth:`StreamReader.read_chunk`.
"""

from __future__ import annotations

import enum
import io
import operator
import os
import secrets
import zlib
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO, Iterable, Iterator

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "SUPPORTED_VERSIONS",
    "MAX_CHUNK_BYTES",
    "MAX_CHUNKS",
    "MAX_CONFIG_BYTES",
    "MAX_HEADER_BYTES",
    "PixFmt",
    "ColourMatrix",
    "Header",
    "ChunkInfo",
    "StreamWriter",
    "StreamReader",
    "write_stream",
    "encode_stream",
]

MAGIC = b"INRV"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_CHUNK_BYTES = 1 << 30
MAX_CHUNKS = 1_000_000
MAX_CONFIG_BYTES = 64 * 1024
#: Upper bound on the encoded header (model config plus the fixed fields).
MAX_HEADER_BYTES = MAX_CONFIG_BYTES + 64
MAX_DIM = 16384
MAX_FRAMES = 10_000_000
MAX_FPS_TERM = 0xFFFFFFFF
_PREFIX_MAX = len(MAGIC) + 1 + 10  # magic, version, header_len uvarint
_CHUNK_PREFIX_MAX = 1 + 10  # kind, length uvarint


class PixFmt(enum.IntEnum):
    """Pixel format of the decoded video."""

    RGB24 = 0
    YUV420P = 1


class ColourMatrix(enum.IntEnum):
    """YUV <-> RGB colour matrix."""

    BT601 = 0
    BT709 = 1


def _int_in(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, not a bool")
    try:
        v = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name}={v} out of range [{lo}, {hi}]")
    return v


@dataclass(frozen=True)
class Header:
    """Stream-level metadata. Construction validates every field (ValueError).

    Encoded (``to_bytes``) as: uvarint width, height, num_frames, fps_num, fps_den;
    u8 pix_fmt; u8 colour_matrix; uvarint family_id; uvarint len + model_config bytes.
    """

    width: int
    height: int
    num_frames: int
    fps_num: int = 25
    fps_den: int = 1
    pix_fmt: PixFmt = PixFmt.RGB24
    colour_matrix: ColourMatrix = ColourMatrix.BT601
    family_id: int = 0
    model_config: bytes = b""

    def __post_init__(self) -> None:
        fix = object.__setattr__
        fix(self, "width", _int_in("width", self.width, 1, MAX_DIM))
        fix(self, "height", _int_in("height", self.height, 1, MAX_DIM))
        fix(self, "num_frames", _int_in("num_frames", self.num_frames, 1, MAX_FRAMES))
        fix(self, "fps_num", _int_in("fps_num", self.fps_num, 1, MAX_FPS_TERM))
        fix(self, "fps_den", _int_in("fps_den", self.fps_den, 1, MAX_FPS_TERM))
        fix(self, "family_id", _int_in("family_id", self.family_id, 0, 0xFFFF))
        for name, enum_type in (("pix_fmt", PixFmt), ("colour_matrix", ColourMatrix)):
            raw = _int_in(name, getattr(self, name), 0, 255)
            try:
                fix(self, name, enum_type(raw))
            except ValueError:
                raise ValueError(f"unknown {name} {raw}") from None
        if not isinstance(self.model_config, (bytes, bytearray, memoryview)):
            raise ValueError("model_config must be bytes")
        fix(self, "model_config", bytes(self.model_config))
        if len(self.model_config) > MAX_CONFIG_BYTES:
            raise ValueError(f"model_config is {len(self.model_config)} bytes (max {MAX_CONFIG_BYTES})")

    @property
    def fps(self) -> Fraction:
        """Frame rate as an exact fraction."""
        return Fraction(self.fps_num, self.fps_den)

    def to_bytes(self) -> bytes:
        """Compact binary form (without magic, length or CRC)."""
        w = ByteWriter()
        for v in (self.width, self.height, self.num_frames, self.fps_num, self.fps_den):
            w.uvarint(v)
        w.u8(int(self.pix_fmt))
        w.u8(int(self.colour_matrix))
        w.uvarint(self.family_id)
        w.blob(self.model_config)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes | ByteReader) -> "Header":
        """Parse and validate; the data must be consumed exactly. Raises BitstreamError."""
        r = data if isinstance(data, ByteReader) else ByteReader(data)
        start = r.offset
        dims = [r.uvarint() for _ in range(5)]
        pix_fmt, matrix = r.u8(), r.u8()
        family_id = r.uvarint()
        config = r.blob(MAX_CONFIG_BYTES)
        r.expect_end()
        try:
            return cls(*dims, pix_fmt, matrix, family_id, config)  # type: ignore[arg-type]
        except ValueError as exc:
            raise BitstreamError(f"invalid header: {exc}", offset=start) from None


@dataclass(frozen=True)
class ChunkInfo:
    """Where one chunk lies in the file."""

    index: int
    kind: int
    offset: int  #: absolute offset of the chunk's kind byte
    header_size: int  #: kind byte + length varint
    size: int  #: payload bytes

    @property
    def payload_offset(self) -> int:
        """Absolute offset of the first payload byte."""
        return self.offset + self.header_size

    @property
    def total(self) -> int:
        """All bytes of the chunk: header, payload and CRC."""
        return self.header_size + self.size + 4


def _preamble(header: Header) -> bytes:
    """Magic, version, header length, header bytes and header CRC."""
    body = header.to_bytes()
    w = ByteWriter()
    w.raw(MAGIC)
    w.u8(FORMAT_VERSION)
    w.uvarint(len(body))
    w.raw(body)
    w.u32(zlib.crc32(w.getvalue()))
    return w.getvalue()


def _frame_chunk(kind: int, payload: bytes | bytearray | memoryview) -> tuple[bytes, bytes, bytes]:
    """(chunk header, payload, crc trailer) for one chunk; validates kind and size."""
    if isinstance(kind, bool) or not 0 <= operator.index(kind) <= 0xFF:
        raise ValueError(f"chunk kind must be 0..255, got {kind!r}")
    payload = bytes(payload)
    if len(payload) > MAX_CHUNK_BYTES:
        raise ValueError(f"chunk payload of {len(payload)} bytes exceeds {MAX_CHUNK_BYTES}")
    head = ByteWriter()
    head.u8(kind)
    head.uvarint(len(payload))
    crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
    return head.getvalue(), payload, crc.to_bytes(4, "little")


class _ChunkSink:
    """Writes preamble and framed chunks to a binary file, tracking ChunkInfo."""

    def __init__(self, fh: BinaryIO, header: Header) -> None:
        self._fh = fh
        self.header = header
        self.chunks: list[ChunkInfo] = []
        pre = _preamble(header)
        fh.write(pre)
        self.bytes_written = len(pre)

    def write_chunk(self, kind: int, payload: bytes | bytearray | memoryview) -> ChunkInfo:
        if len(self.chunks) >= MAX_CHUNKS:
            raise ValueError(f"a stream holds at most {MAX_CHUNKS} chunks")
        head, body, crc = _frame_chunk(kind, payload)
        info = ChunkInfo(len(self.chunks), int(kind), self.bytes_written, len(head), len(body))
        for part in (head, body, crc):
            self._fh.write(part)
        self.bytes_written += info.total
        self.chunks.append(info)
        return info


class StreamWriter:
    """Writes a stream to ``path`` atomically.

    Data goes to a fresh hidden name next to ``path`` (``.NAME.<random>.part``, so that two
    writers of the same path never share a temporary file); :meth:`close` (or leaving the
    ``with`` block normally) renames it over ``path``. An exception in the ``with`` block, or
    :meth:`abort`, deletes the temporary file and leaves ``path`` untouched.
    """

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = os.fspath(path)
        self._fh: BinaryIO | None = None
        self.temp_path = ""
        head, name = os.path.split(self.path)
        for _ in range(8):
            self.temp_path = os.path.join(head, f".{name}.{secrets.token_hex(4)}.part")
            try:
                self._fh = open(self.temp_path, "xb")
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free temporary name next to {self.path}")
        try:
            self._sink = _ChunkSink(self._fh, header)
        except BaseException:
            self.abort()
            raise

    @property
    def header(self) -> Header:
        return self._sink.header

    @property
    def chunks(self) -> list[ChunkInfo]:
        """Chunks written so far."""
        return list(self._sink.chunks)

    @property
    def bytes_written(self) -> int:
        """Bytes written so far (preamble and complete chunks)."""
        return self._sink.bytes_written

    @property
    def closed(self) -> bool:
        return self._fh is None

    def write_chunk(self, kind: int, payload: bytes | bytearray | memoryview) -> ChunkInfo:
        """Append one chunk; returns where it lies in the file."""
        if self._fh is None:
            raise ValueError("StreamWriter is closed")
        return self._sink.write_chunk(kind, payload)

    def close(self) -> None:
        """Flush, sync and rename the temporary file over ``path``. Idempotent."""
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        try:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            os.replace(self.temp_path, self.path)
        except BaseException:
            fh.close()
            _unlink_quietly(self.temp_path)
            raise

    def abort(self) -> None:
        """Discard everything written: remove the temporary file. Idempotent."""
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()
            _unlink_quietly(self.temp_path)

    def __enter__(self) -> "StreamWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_stream(
    path: str | os.PathLike[str], header: Header, chunks: Iterable[tuple[int, bytes]]
) -> int:
    """Write a whole stream atomically; returns the file size in bytes."""
    with StreamWriter(path, header) as writer:
        for kind, payload in chunks:
            writer.write_chunk(kind, payload)
    return writer.bytes_written


def encode_stream(header: Header, chunks: Iterable[tuple[int, bytes]]) -> bytes:
    """The bytes of a whole stream, in memory."""
    buf = io.BytesIO()
    sink = _ChunkSink(buf, header)
    for kind, payload in chunks:
        sink.write_chunk(kind, payload)
    return buf.getvalue()


class StreamReader:
    """Opens and validates a stream from a path or from bytes.

    At open: magic, version, header (and its CRC) are checked and the chunk table is
    scanned (chunk headers only; every length is checked against the bytes left and
    :data:`MAX_CHUNK_BYTES`; at most :data:`MAX_CHUNKS` chunks). Payload CRCs are
    checked by :meth:`read_chunk`. All problems raise :class:`BitstreamError`.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._fh: BinaryIO | None = io.BytesIO(bytes(source))
            self.name = "<bytes>"
        else:
            self.name = os.fspath(source)
            self._fh = open(self.name, "rb")
        try:
            self.file_size = self._fh.seek(0, io.SEEK_END)
            self.header, self.header_bytes = self._read_preamble()
            self.chunks: list[ChunkInfo] = self._scan_chunks()
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------
    def _read_at(self, offset: int, n: int) -> bytes:
        assert self._fh is not None, "StreamReader is closed"
        self._fh.seek(offset)
        return self._fh.read(n)

    def _read_preamble(self) -> tuple[Header, int]:
        prefix = self._read_at(0, _PREFIX_MAX)
        if len(prefix) < len(MAGIC) or prefix[: len(MAGIC)] != MAGIC:
            raise BitstreamError("not an inrv stream (bad magic)", offset=0)
        r = ByteReader(prefix)
        r.raw(len(MAGIC))
        version = r.u8()
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
            raise BitstreamError(
                f"unsupported inrv format version {version}; this reader supports version(s) {supported}",
                offset=len(MAGIC),
            )
        header_len = r.uvarint_max(MAX_HEADER_BYTES, "header length")
        start = r.position
        end = start + header_len + 4
        if end > self.file_size:
            raise BitstreamError(
                f"truncated header: needs {end} bytes, file has {self.file_size}", offset=start
            )
        full = ByteReader(self._read_at(0, end))
        covered = full.raw(start + header_len)
        stored = int.from_bytes(self._read_at(start + header_len, 4), "little")
        if zlib.crc32(covered) != stored:
            raise BitstreamError("header CRC mismatch", offset=start + header_len)
        header = Header.from_bytes(ByteReader(covered[start:], base_offset=start))
        return header, end

    def _scan_chunks(self) -> list[ChunkInfo]:
        chunks: list[ChunkInfo] = []
        pos = self.header_bytes
        while pos < self.file_size:
            index = len(chunks)
            if index >= MAX_CHUNKS:
                raise BitstreamError(f"more than {MAX_CHUNKS} chunks", chunk=index, offset=pos)
            r = ByteReader(self._read_at(pos, _CHUNK_PREFIX_MAX), base_offset=pos, chunk=index)
            kind = r.u8()
            size = r.uvarint_max(MAX_CHUNK_BYTES, "chunk payload length")
            info = ChunkInfo(index, kind, pos, r.position, size)
            left = self.file_size - pos
            if info.total > left:
                raise BitstreamError(
                    f"truncated chunk: needs {info.total} bytes, {left} left in the file",
                    chunk=index,
                    offset=pos,
                )
            chunks.append(info)
            pos += info.total
        return chunks

    # -- reading --------------------------------------------------------------
    def read_chunk(self, index: int) -> bytes:
        """The payload of chunk ``index`` after checking its CRC."""
        info = self.chunks[index]
        data = self._read_at(info.payload_offset, info.size + 4)
        if len(data) != info.size + 4:  # the file changed under us
            raise BitstreamError("chunk shorter than its length", chunk=index, offset=info.offset)
        payload, stored = data[: info.size], int.from_bytes(data[info.size :], "little")
        if zlib.crc32(payload, zlib.crc32(bytes([info.kind]))) != stored:
            raise BitstreamError("chunk CRC mismatch", chunk=index, offset=info.offset)
        return payload

    def read_chunk_head(self, index: int, n: int) -> bytes:
        """The first ``min(n, size)`` bytes of chunk ``index``'s payload, *not* CRC-checked: for
        laying out a stream from small fields at the start of its chunks without reading every
        payload. The CRC covers them all the same when the chunk is read with :meth:`read_chunk`."""
        info = self.chunks[index]
        want = min(max(n, 0), info.size)
        data = self._read_at(info.payload_offset, want)
        if len(data) != want:  # the file changed under us
            raise BitstreamError("chunk shorter than its length", chunk=index, offset=info.offset)
        return data

    def chunk_reader(self, index: int) -> ByteReader:
        """A :class:`ByteReader` over chunk ``index``'s verified payload (absolute offsets)."""
        info = self.chunks[index]
        return ByteReader(self.read_chunk(index), base_offset=info.payload_offset, chunk=index)

    def iter_chunks(self) -> Iterator[tuple[ChunkInfo, bytes]]:
        """(info, verified payload) for every chunk, in order."""
        for info in self.chunks:
            yield info, self.read_chunk(info.index)

    def close(self) -> None:
        """Close the underlying file. Idempotent."""
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()
