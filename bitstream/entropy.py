"""Entropy coding of int32 arrays with constriction's ANS coder.

``encode_ints`` builds every applicable representation of an array and keeps the one
with the fewest real bytes (all side information included); ties go to the lowest tag:

========  =========  ==========================================================
tag       method     model
========  =========  ==========================================================
0         CONST      all values equal: just the value
1         RAW        fixed-width bit packing of ``value - lo``
2         EMPIRICAL  categorical over the distinct values, exact counts stored
3         LAPLACE    two-sided geometric (discrete Laplace) over ``[lo, hi]``
4         GAUSSIAN   discrete Gaussian over ``[lo, hi]``
========  =========  ==========================================================

The byte layout of each method is specified in ``docs/bitstream.md``. An array of
``count == 0`` values takes zero bytes. The encoding is self-delimiting given the
count. Every model handed to constriction is a ``Categorical(probs, perfect=False)``
whose float64 probabilities are computed identically on both sides: integer counts
(exact in float64) or, for the parametric methods, products of a stored rational
ratio ``rq / 2**32`` (IEEE multiplications only, tiny values flushed to zero), so the
decoder reproduces the encoder's model bit for bit on any machine.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import constriction
import numpy as np

from bitstream.fields import ByteReader, ByteWriter, svarint_size, uvarint_size

__all__ = ["Method", "MAX_SYMBOLS", "MAX_ALPHABET", "encode_ints", "decode_ints", "peek_method"]

#: Most values one coded array may hold (the decoder's largest allocation: 1 GiB).
MAX_SYMBOLS = 1 << 28
#: Most entries in one categorical model (distinct values / parametric range).
MAX_ALPHABET = 1 << 20
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
_RATIO_DEN = float(1 << 32)  # parametric ratio r = rq / 2**32
_FLUSH = 2.0**-40  # model probabilities below this (relative to the mode) become 0
_MAX_BUCKET = 32  # uint-vector coder: values < 2**32

_AnsCoder = constriction.stream.stack.AnsCoder
_Categorical = constriction.stream.model.Categorical


class Method(enum.IntEnum):
    """Method tag, the first byte of every non-empty coded array."""

    CONST = 0
    RAW = 1
    EMPIRICAL = 2
    LAPLACE = 3
    GAUSSIAN = 4


# --------------------------------------------------------------------------- helpers
def guarded(fail: Callable[[str], Exception], fn: Callable[..., Any], *args: Any) -> Any:
    """Call into constriction, turning any failure (even a Rust panic) into ``fail(message)``."""
    try:
        return fn(*args)
    except Exception as exc:
        raise fail(f"entropy decoder rejected the data: {exc}") from exc
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        raise fail(f"entropy decoder failed: {exc}") from exc


def _guard(r: ByteReader, fn: Callable[..., Any], *args: Any) -> Any:
    """:func:`guarded` with the reader's error (chunk and offset in the message)."""
    return guarded(r.error, fn, *args)


def _model(weights: np.ndarray) -> Any:
    """The categorical model both sides build from the same float64 weights."""
    return _Categorical(np.ascontiguousarray(weights, dtype=np.float64), perfect=False)


def _bit_length(u: np.ndarray) -> np.ndarray:
    """Vectorised ``int.bit_length`` for 0 <= u < 2**53."""
    return np.frexp(u.astype(np.float64))[1].astype(np.int64)


def _pack_bits(values: np.ndarray, widths: np.ndarray) -> bytes:
    """Concatenate the low ``widths[i]`` bits of each value, LSB first, zero padded."""
    total = int(widths.sum())
    if total == 0:
        return b""
    starts = np.cumsum(widths) - widths
    bits = np.zeros(total, dtype=np.uint8)
    vals = values.astype(np.uint64)
    for j in range(int(widths.max())):
        sel = widths > j
        bits[starts[sel] + j] = (vals[sel] >> np.uint64(j)) & np.uint64(1)
    return np.packbits(bits, bitorder="little").tobytes()


def _unpack_bits(r: ByteReader, widths: np.ndarray) -> np.ndarray:
    """Read the bytes written by :func:`_pack_bits` for ``widths``; padding must be 0."""
    total = int(widths.sum())
    nbytes = (total + 7) // 8
    at = r.position
    bits = np.unpackbits(np.frombuffer(r.raw_view(nbytes), dtype=np.uint8), bitorder="little")
    if bits[total:].any():
        raise r.error("non-zero padding bits", at=at + nbytes - 1)
    starts = np.cumsum(widths) - widths
    out = np.zeros(len(widths), dtype=np.int64)
    for j in range(int(widths.max()) if len(widths) else 0):
        sel = widths > j
        out[sel] |= bits[starts[sel] + j].astype(np.int64) << j
    return out


def _write_words(w: ByteWriter, words: np.ndarray) -> None:
    w.uvarint(len(words))
    w.u32_array(words)


def _read_coder(r: ByteReader) -> Any:
    nwords = r.uvarint()
    return _guard(r, _AnsCoder, r.u32_array(nwords))


def _check_empty(r: ByteReader, coder: Any) -> None:
    if not coder.is_empty():
        raise r.error("entropy-coded data does not match its symbol count")


# ------------------------------------------------------------- uint-vector coder
# Non-negative integers (< 2**32) for the empirical method's tables. Either PLAIN
# (one uvarint each) or BUCKETED: bucket b = bit_length(u) coded in the shared ANS
# stream with a categorical over the bucket histogram, plus b - 1 raw mantissa bits
# (u - 2**(b-1)). The encoder keeps whichever is smaller (ANS part estimated).
_PLAIN = 0xFF


@dataclass
class _UintPlan:
    values: np.ndarray
    hist: list[int]  # empty for PLAIN
    buckets: np.ndarray
    mantissa: bytes
    model: Any  # None when PLAIN or a single bucket is used (buckets implied)


def _plan_uints(u: np.ndarray) -> _UintPlan:
    b = _bit_length(u)
    counts = np.bincount(b)
    widths = np.maximum(b - 1, 0)
    used = counts[counts > 0]
    ans_bits = float(-(used * np.log2(used / len(u))).sum())
    bucketed = 1 + sum(uvarint_size(int(h)) for h in counts) + (int(widths.sum()) + ans_bits) / 8
    plain = 1 + int(np.maximum(1, (b + 6) // 7).sum())
    if plain <= bucketed:
        return _UintPlan(u, [], b, b"", None)
    mant = u - np.where(b > 0, np.left_shift(1, widths), 0)
    model = _model(counts.astype(np.float64)) if len(used) > 1 else None
    return _UintPlan(u, counts.tolist(), b.astype(np.int32), _pack_bits(mant, widths), model)


def _write_uint_tables(w: ByteWriter, plan: _UintPlan) -> None:
    if not plan.hist:
        w.u8(_PLAIN)
        for v in plan.values.tolist():
            w.uvarint(v)
        return
    w.u8(len(plan.hist) - 1)
    for h in plan.hist:
        w.uvarint(h)
    w.raw(plan.mantissa)


@dataclass
class _UintTables:
    hist: list[int]
    mantissa_reader: ByteReader | None
    model: Any
    plain: np.ndarray | None = None


def _read_uint_tables(r: ByteReader, n: int) -> _UintTables:
    at = r.position
    top = r.u8()
    if top == _PLAIN:
        if n > r.remaining:
            raise r.error(f"truncated table: {n} varints, {r.remaining} bytes left", at=at)
        values = [r.uvarint_max(0xFFFFFFFF, "table entry") for _ in range(n)]
        return _UintTables([], None, None, np.array(values, dtype=np.int64))
    if top > _MAX_BUCKET:
        raise r.error(f"bucket {top} out of range", at=at)
    hist = [r.uvarint_max(n, "bucket count") for _ in range(top + 1)]
    if sum(hist) != n or hist[-1] == 0:
        raise r.error(f"bucket histogram does not describe {n} values", at=at)
    nbits = sum(h * max(b - 1, 0) for b, h in enumerate(hist))
    mantissa = r.sub((nbits + 7) // 8)
    nonzero = sum(h > 0 for h in hist)
    model = _guard(r, _model, np.asarray(hist, dtype=np.float64)) if nonzero > 1 else None
    return _UintTables(hist, mantissa, model)


def _finish_uints(r: ByteReader, tables: _UintTables, coder: Any, n: int) -> np.ndarray:
    if tables.plain is not None:
        return tables.plain
    assert tables.mantissa_reader is not None
    if tables.model is None:
        b = np.full(n, len(tables.hist) - 1, dtype=np.int64)
    else:
        b = _guard(r, coder.decode, tables.model, n).astype(np.int64)
        if not np.array_equal(np.bincount(b, minlength=len(tables.hist)), tables.hist):
            raise r.error("decoded buckets disagree with their histogram")
    widths = np.maximum(b - 1, 0)
    mant = _unpack_bits(tables.mantissa_reader, widths)
    return mant + np.where(b > 0, np.left_shift(1, widths), 0)


# ----------------------------------------------------------------- histogram
@dataclass
class _Stats:
    """Distinct values, their counts, and a lazily built value -> index map."""

    x: np.ndarray  # int64, flat
    lo: int
    hi: int
    symbols: np.ndarray  # int64 sorted distinct values
    counts: np.ndarray  # int64
    _index: np.ndarray | None = None
    _hist: np.ndarray | None = None

    @classmethod
    def of(cls, x: np.ndarray) -> "_Stats":
        lo, hi = int(x.min()), int(x.max())
        span = hi - lo + 1
        if span <= min(max(4 * x.size, 1 << 16), 1 << 26):
            hist = np.bincount(x - lo, minlength=span)
            present = np.flatnonzero(hist)
            return cls(x, lo, hi, present + lo, hist[present], None, hist)
        symbols, index, counts = np.unique(x, return_inverse=True, return_counts=True)
        return cls(x, lo, hi, symbols, counts, index.astype(np.int32).ravel(), None)

    def index(self) -> np.ndarray:
        """Position of each value among the distinct values (int32)."""
        if self._index is None:
            assert self._hist is not None
            lut = (np.cumsum(self._hist > 0) - 1).astype(np.int32)
            self._index = lut[self.x - self.lo]
        return self._index


# --------------------------------------------------------------------- methods
def _encode_const(s: _Stats) -> bytes:
    w = ByteWriter()
    w.u8(Method.CONST)
    w.svarint(s.lo)
    return w.getvalue()


def _raw_width(s: _Stats) -> int:
    return max(1, (s.hi - s.lo).bit_length())


def _raw_size(s: _Stats) -> int:
    return 2 + svarint_size(s.lo) + (s.x.size * _raw_width(s) + 7) // 8


def _encode_raw(s: _Stats) -> bytes:
    w = ByteWriter()
    width = _raw_width(s)
    w.u8(Method.RAW)
    w.svarint(s.lo)
    w.u8(width)
    w.raw(_pack_bits(s.x - s.lo, np.full(s.x.size, width, dtype=np.int64)))
    return w.getvalue()


def _encode_empirical(s: _Stats) -> bytes:
    k = len(s.symbols)
    gaps = _plan_uints(np.diff(s.symbols) - 1)
    counts = _plan_uints(s.counts - 1)
    w = ByteWriter()
    w.u8(Method.EMPIRICAL)
    w.uvarint(k - 2)
    w.svarint(int(s.symbols[0]))
    _write_uint_tables(w, gaps)
    _write_uint_tables(w, counts)
    coder = _AnsCoder()
    coder.encode_reverse(s.index(), _model(s.counts))
    for plan in (counts, gaps):  # pushed last = popped first
        if plan.model is not None:
            coder.encode_reverse(plan.buckets, plan.model)
    _write_words(w, coder.get_compressed())
    return w.getvalue()


def _parametric_weights(method: Method, size: int, center: int, rq: int) -> np.ndarray:
    """Unnormalised model over ``size`` symbols, mode at index ``center``.

    LAPLACE: r**|d|; GAUSSIAN: r**(d*d), with r = rq / 2**32 and d = index - center,
    evaluated by running products (correctly rounded IEEE multiplies, same on every
    machine); values below 2**-40 are set to 0 (so subnormal handling cannot matter).
    """
    r = rq / _RATIO_DEN
    dmax = max(center, size - 1 - center)
    steps = np.full(dmax, r, dtype=np.float64)
    if method == Method.GAUSSIAN and dmax:
        steps[1:] = r * r
        steps = np.cumprod(steps)  # r**(2d - 1)
    dens = np.empty(dmax + 1, dtype=np.float64)
    dens[0] = 1.0
    dens[1:] = np.cumprod(steps)
    dens[dens < _FLUSH] = 0.0
    return dens[np.abs(np.arange(size) - center)]


def _fit_parametric(method: Method, s: _Stats) -> tuple[int, int]:
    """(center offset from lo, rq) by moment fits on the histogram (encoder only)."""
    n = int(s.counts.sum())
    rel = s.symbols - s.lo
    if method == Method.LAPLACE:
        cum = np.cumsum(s.counts)
        center = int(rel[np.searchsorted(cum, (n + 1) // 2)])
        mad = int((s.counts * np.abs(rel - center)).sum()) / n
        r = mad / (math.sqrt(1.0 + mad * mad) + 1.0)  # MLE of the two-sided geometric
    else:
        total = int((s.counts * rel).sum())
        center = (2 * total + n) // (2 * n)
        d = (rel - center).astype(np.float64)
        var = float((s.counts * d * d).sum()) / n
        r = math.exp(-0.5 / var) if var > 0 else 0.0
    rq = min(max(round(r * _RATIO_DEN), 1), (1 << 32) - 1)
    return center, rq


def _encode_parametric(method: Method, s: _Stats) -> bytes:
    size = s.hi - s.lo + 1
    center, rq = _fit_parametric(method, s)
    w = ByteWriter()
    w.u8(method)
    w.svarint(s.lo)
    w.uvarint(size - 2)
    w.uvarint(center)
    w.u32(rq)
    coder = _AnsCoder()
    coder.encode_reverse(
        (s.x - s.lo).astype(np.int32), _model(_parametric_weights(method, size, center, rq))
    )
    _write_words(w, coder.get_compressed())
    return w.getvalue()


# ------------------------------------------------------------------ public API
def encode_ints(values: np.ndarray, *, methods: Iterable[Method] | None = None) -> bytes:
    """Entropy-code an integer array (flattened in C order; values must fit int32).

    Returns the smallest encoding among the applicable ``methods`` (default: all).
    The count is not stored: pass it to :func:`decode_ints`.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"encode_ints needs an integer array, got dtype {arr.dtype}")
    if arr.size > MAX_SYMBOLS:
        raise ValueError(f"{arr.size} values exceed MAX_SYMBOLS={MAX_SYMBOLS}")
    if arr.size == 0:
        return b""
    if int(arr.min()) < INT32_MIN or int(arr.max()) > INT32_MAX:
        raise ValueError("encode_ints: values do not fit int32")
    s = _Stats.of(arr.astype(np.int64, copy=False).ravel())
    allowed = set(Method) if methods is None else {Method(m) for m in methods}
    builders: list[Callable[[], bytes]] = []
    if s.lo == s.hi and Method.CONST in allowed:
        builders.append(lambda: _encode_const(s))
    if s.lo != s.hi and len(s.symbols) <= MAX_ALPHABET and Method.EMPIRICAL in allowed:
        builders.append(lambda: _encode_empirical(s))
    if s.lo != s.hi and s.hi - s.lo < MAX_ALPHABET:
        for m in (Method.LAPLACE, Method.GAUSSIAN):
            if m in allowed:
                builders.append(lambda m=m: _encode_parametric(m, s))
    best: bytes | None = None
    for build in builders:
        data = build()
        if best is None or len(data) < len(best) or (len(data) == len(best) and data[0] < best[0]):
            best = data
    if Method.RAW in allowed and (best is None or _raw_size(s) <= len(best)):
        best = _encode_raw(s)
    if best is None:
        raise ValueError(f"none of the methods {sorted(allowed)} can code this array")
    return best


def peek_method(data: bytes) -> Method | None:
    """The method of a coded array (None for the empty encoding of zero values)."""
    return Method(data[0]) if data else None


def decode_ints(data: ByteReader | bytes, count: int) -> np.ndarray:
    """Decode ``count`` values written by :func:`encode_ints` into a flat int32 array.

    With a :class:`ByteReader`, exactly the coded bytes are consumed; with ``bytes``,
    they must be consumed exactly. Malformed data raises :class:`BitstreamError`.
    """
    r = data if isinstance(data, ByteReader) else ByteReader(data)
    if not 0 <= count <= MAX_SYMBOLS:
        raise r.error(f"symbol count {count} out of range [0, {MAX_SYMBOLS}]")
    if count == 0:
        out = np.zeros(0, dtype=np.int32)
    else:
        at = r.position
        tag = r.u8()
        if tag not in _DECODERS:
            raise r.error(f"unknown entropy method tag {tag}", at=at)
        out = _DECODERS[Method(tag)](r, count)
    if not isinstance(data, ByteReader):
        r.expect_end()
    return out


def _read_int32(r: ByteReader, what: str) -> int:
    at = r.position
    v = r.svarint()
    if not INT32_MIN <= v <= INT32_MAX:
        raise r.error(f"{what} {v} does not fit int32", at=at)
    return v


def _decode_const(r: ByteReader, n: int) -> np.ndarray:
    return np.full(n, _read_int32(r, "constant"), dtype=np.int32)


def _decode_raw(r: ByteReader, n: int) -> np.ndarray:
    lo = _read_int32(r, "raw minimum")
    at = r.position
    width = r.u8()
    if not 1 <= width <= 32:
        raise r.error(f"raw bit width {width} out of range [1, 32]", at=at)
    if (n * width + 7) // 8 > r.remaining:
        raise r.error(f"truncated raw data: {n} values of {width} bits")
    values = lo + _unpack_bits(r, np.full(n, width, dtype=np.int64))
    if values.max() > INT32_MAX:
        raise r.error("raw value does not fit int32")
    return values.astype(np.int32)


def _decode_empirical(r: ByteReader, n: int) -> np.ndarray:
    at = r.position
    k = r.uvarint_max(min(n, MAX_ALPHABET), "distinct symbol count") + 2
    if k > min(n, MAX_ALPHABET):
        raise r.error(f"{k} distinct symbols for {n} values", at=at)
    first = _read_int32(r, "first symbol")
    gap_tables = _read_uint_tables(r, k - 1)
    count_tables = _read_uint_tables(r, k)
    coder = _read_coder(r)
    gaps = _finish_uints(r, gap_tables, coder, k - 1)
    counts = _finish_uints(r, count_tables, coder, k) + 1
    symbols = first + np.concatenate(([0], np.cumsum(gaps + 1)))
    if symbols[-1] > INT32_MAX:
        raise r.error("symbol table exceeds int32")
    if int(counts.sum()) != n:
        raise r.error(f"symbol counts sum to {int(counts.sum())}, expected {n}")
    index = _guard(r, coder.decode, _guard(r, _model, counts.astype(np.float64)), n)
    _check_empty(r, coder)
    return symbols.astype(np.int32)[index]


def _decode_parametric(method: Method, r: ByteReader, n: int) -> np.ndarray:
    lo = _read_int32(r, "range minimum")
    size = r.uvarint_max(MAX_ALPHABET - 2, "range size") + 2
    if lo + size - 1 > INT32_MAX:
        raise r.error("range exceeds int32")
    center = r.uvarint_max(size - 1, "mode offset")
    at = r.position
    rq = r.u32()
    if rq == 0:
        raise r.error("zero distribution ratio", at=at)
    coder = _read_coder(r)
    model = _guard(r, _model, _parametric_weights(method, size, center, rq))
    index = _guard(r, coder.decode, model, n)
    _check_empty(r, coder)
    return (index + lo).astype(np.int32)


_DECODERS: dict[Method, Callable[[ByteReader, int], np.ndarray]] = {
    Method.CONST: _decode_const,
    Method.RAW: _decode_raw,
    Method.EMPIRICAL: _decode_empirical,
    Method.LAPLACE: lambda r, n: _decode_parametric(Method.LAPLACE, r, n),
    Method.GAUSSIAN: lambda r, n: _decode_parametric(Method.GAUSSIAN, r, n),
}
