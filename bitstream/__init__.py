"""The ``.inrv`` file format: container, entropy coding of integer tensors, strict validation.

Depends on numpy, constriction and the standard library only (no torch, no codec imports).
The format is specified in ``docs/bitstream.md``.
"""

from bitstream.container import (
    FORMAT_VERSION,
    MAGIC,
    MAX_CHUNK_BYTES,
    MAX_CHUNKS,
    MAX_CONFIG_BYTES,
    SUPPORTED_VERSIONS,
    ChunkInfo,
    ColourMatrix,
    Header,
    PixFmt,
    StreamReader,
    StreamWriter,
    encode_stream,
    write_stream,
)
from bitstream.entropy import MAX_ALPHABET, MAX_SYMBOLS, Method, decode_ints, encode_ints, peek_method
from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import QuantizedTensor, read_ints, read_tensor, write_ints, write_tensor

__all__ = [
    "BitstreamError",
    "ByteReader",
    "ByteWriter",
    "ChunkInfo",
    "ColourMatrix",
    "FORMAT_VERSION",
    "Header",
    "MAGIC",
    "MAX_ALPHABET",
    "MAX_CHUNK_BYTES",
    "MAX_CHUNKS",
    "MAX_CONFIG_BYTES",
    "MAX_SYMBOLS",
    "Method",
    "PixFmt",
    "QuantizedTensor",
    "StreamReader",
    "StreamWriter",
    "SUPPORTED_VERSIONS",
    "decode_ints",
    "encode_ints",
    "encode_stream",
    "peek_method",
    "read_ints",
    "read_tensor",
    "write_ints",
    "write_stream",
    "write_tensor",
]
