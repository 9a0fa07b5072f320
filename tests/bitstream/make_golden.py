"""Generate the golden stream ``data/golden_v1.inrv`` that pins format version 1.

Run ``python tests/bitstream/make_golden.py`` (from the repository root) only when the
format version changes. The content is built from integer arithmetic only (no RNG whose
stream could change between numpy versions), so it is the same on every machine.

Chunk payloads use a test-only convention: u8 record count, then per record a u8 type
(0 = quantized tensor, 1 = integer tensor) followed by the record.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __name__ == "__main__":  # allow running as a plain script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bitstream import (  # noqa: E402
    ByteReader,
    ByteWriter,
    ColourMatrix,
    Header,
    Method,
    PixFmt,
    QuantizedTensor,
    encode_stream,
    read_ints,
    read_tensor,
    write_ints,
    write_tensor,
)

GOLDEN_PATH = Path(__file__).resolve().parent / "data" / "golden_v1.inrv"
TENSOR, INTS = 0, 1


def lcg(seed: int, n: int) -> np.ndarray:
    """``n`` pseudo-random 32-bit words from a 64-bit LCG (integer arithmetic only)."""
    out = np.empty(n, dtype=np.uint64)
    state = seed & (2**64 - 1)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out[i] = state >> 32
    return out


def peaked(seed: int, n: int, spread: int) -> np.ndarray:
    """Laplace-like integers: a signed sum of geometric variables (trailing zeros)."""
    words = lcg(seed, 3 * n).reshape(3, n)
    mags = np.zeros(n, dtype=np.int64)
    for row in words[:2]:
        for bit in range(16):  # trailing zeros of the low 16 bits
            mags += (row & np.uint64((2 << bit) - 1)) == 0
    signs = np.where(words[2] & np.uint64(1), 1, -1)
    return (signs * mags * spread + (words[2].astype(np.int64) >> 1) % spread).astype(np.int32)


def _tensors() -> list[list[tuple[int, object, Method | None]]]:
    """Records per chunk: (type, value, forced method or None for the encoder's choice)."""
    small = peaked(1, 6 * 5, 1).reshape(6, 5)
    big = peaked(2, 40 * 24, 3).reshape(40, 24)
    bimodal = np.concatenate([peaked(3, 200, 1), peaked(4, 200, 1) + 60]).reshape(20, 20)
    sparse = np.array([-(2**31), 0, 7, 2**31 - 1], dtype=np.int64)[lcg(5, 64) % np.uint64(4)]
    chunk0 = [
        (TENSOR, QuantizedTensor((6, 5), small, np.array([0.5], np.float32)), Method.RAW),
        (TENSOR, QuantizedTensor((3, 4), np.full((3, 4), -7), np.array([0.25], np.float32), 1.5), None),
        (INTS, np.zeros((0, 3), dtype=np.int32), None),
        (INTS, np.array(42, dtype=np.int32), Method.CONST),
    ]
    scales = (np.arange(40, dtype=np.float32) + 1) / 64
    chunk1 = [
        (TENSOR, QuantizedTensor((40, 24), big, scales), Method.LAPLACE),
        (TENSOR, QuantizedTensor((40, 24), big, np.array([0.1], np.float32), -0.5), Method.GAUSSIAN),
        (INTS, big, Method.EMPIRICAL),
        (INTS, big, None),
    ]
    chunk2 = [
        (INTS, bimodal, Method.EMPIRICAL),
        (INTS, sparse.astype(np.int32).reshape(4, 4, 4), Method.EMPIRICAL),
        (INTS, bimodal, Method.RAW),
        (INTS, small, Method.LAPLACE),
    ]
    return [chunk0, chunk1, chunk2]


def golden_header() -> Header:
    return Header(
        width=176,
        height=144,
        num_frames=120,
        fps_num=30000,
        fps_den=1001,
        pix_fmt=PixFmt.YUV420P,
        colour_matrix=ColourMatrix.BT709,
        family_id=3,
        model_config=bytes(range(17)),
    )


def golden_records() -> list[list[tuple[int, object]]]:
    """The decoded content: per chunk, (record type, QuantizedTensor or int array)."""
    return [[(kind, value) for kind, value, _ in chunk] for chunk in _tensors()]


def _payload(records: list[tuple[int, object, Method | None]]) -> bytes:
    w = ByteWriter()
    w.u8(len(records))
    for kind, value, method in records:
        w.u8(kind)
        methods = None if method is None else [method]
        if kind == TENSOR:
            assert isinstance(value, QuantizedTensor)
            write_tensor(w, value, methods=methods)
        else:
            write_ints(w, np.asarray(value), methods=methods)
    return w.getvalue()


def golden_bytes() -> bytes:
    """The golden stream, built from scratch."""
    chunks = [(10 + i, _payload(recs)) for i, recs in enumerate(_tensors())]
    return encode_stream(golden_header(), chunks)


def decode_payload(r: ByteReader, max_symbols: int = 1 << 28) -> list[tuple[int, object]]:
    """Parse a payload written with the test convention above."""
    out: list[tuple[int, object]] = []
    for _ in range(r.u8()):
        kind = r.u8()
        if kind == TENSOR:
            out.append((kind, read_tensor(r, max_symbols=max_symbols)))
        elif kind == INTS:
            out.append((kind, read_ints(r, max_symbols=max_symbols)))
        else:
            raise r.error(f"unknown test record type {kind}")
    r.expect_end()
    return out


def main() -> None:
    data = golden_bytes()
    GOLDEN_PATH.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_PATH.write_bytes(data)
    print(f"wrote {GOLDEN_PATH} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
