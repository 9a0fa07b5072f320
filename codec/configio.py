"""Compact binary form of a family's frozen config dataclass (a few bytes in the stream header).

Fields are written in declaration order: ``int`` as an unsigned varint, ``float`` as float32,
``bool`` as one byte, ``tuple[int, ...]`` as a count then varints. Geometry is not part of a
family config: it lives in the stream header.

Optional trailing fields (declared last, with a default and ``metadata={"trailing": True}``, see
:func:`trailing`) let a config grow without changing the bytes of the streams that do not use
the new field: the writer stops after the last field that differs from its default, and the
reader takes the default for every trailing field after the end of the bytes. A trailing field
written with its default value as the last field written is refused: each config has exactly one
encoding.

Declaring a config (:func:`trailing`) imports nothing heavy; packing and unpacking import the
bitstream's byte fields (numpy) when first called, so that the command line can read every
family's declarations without them (``inrv --help`` in a fraction of a second).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bitstream.fields import ByteReader

T = TypeVar("T")

MAX_TUPLE = 64
MAX_INT = 2**31
_TRAILING = "trailing"


def trailing(default: Any) -> Any:
    """A config field that may be left out of the stream when it holds ``default`` (declare it
    after every other field)."""
    return dataclasses.field(default=default, metadata={_TRAILING: True})


def _kind(cls: type, field: dataclasses.Field) -> str:
    hint = typing.get_type_hints(cls)[field.name]
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float"
    if typing.get_origin(hint) is tuple:
        return "ints"
    raise TypeError(f"{cls.__name__}.{field.name}: unsupported config field type {hint}")


def _fields(cls: type) -> tuple[tuple[dataclasses.Field, ...], tuple[dataclasses.Field, ...]]:
    """The required fields, then the optional trailing ones (TypeError if they are mixed)."""
    fields = dataclasses.fields(cls)
    first = next((i for i, f in enumerate(fields) if f.metadata.get(_TRAILING)), len(fields))
    rest = fields[first:]
    if any(not f.metadata.get(_TRAILING) or f.default is dataclasses.MISSING for f in rest):
        raise TypeError(f"{cls.__name__}: trailing config fields must come last and have defaults")
    return fields[:first], rest


def pack_config(config: object) -> bytes:
    """Serialise a frozen dataclass of ints, floats, bools and int tuples."""
    from bitstream.fields import ByteWriter

    w = ByteWriter()
    cls = type(config)
    required, optional = _fields(cls)
    present = len(optional)
    while present and getattr(config, optional[present - 1].name) == optional[present - 1].default:
        present -= 1
    for field in required + optional[:present]:
        value = getattr(config, field.name)
        kind = _kind(cls, field)
        if kind == "bool":
            w.u8(int(value))
        elif kind == "int":
            w.uvarint(int(value))
        elif kind == "float":
            w.f32(float(value))
        else:
            w.uvarint(len(value))
            for item in value:
                w.uvarint(int(item))
    return w.getvalue()


def _read(r: ByteReader, kind: str, name: str) -> Any:
    from bitstream import BitstreamError

    if kind == "bool":
        return bool(r.u8())
    if kind == "int":
        return _bounded(r.uvarint(), name)
    if kind == "float":
        return r.f32()
    count = r.uvarint()
    if count > MAX_TUPLE:
        raise BitstreamError(f"model config field {name}: {count} items is too many")
    return tuple(_bounded(r.uvarint(), name) for _ in range(count))


def unpack_config(cls: type[T], data: bytes) -> T:
    """Inverse of :func:`pack_config`; any malformed or out-of-range content is a BitstreamError."""
    from bitstream import BitstreamError
    from bitstream.fields import ByteReader

    r = ByteReader(data)
    required, optional = _fields(cls)
    values = {f.name: _read(r, _kind(cls, f), f.name) for f in required}
    last = None
    for field in optional:
        if not r.remaining:
            break
        values[field.name] = _read(r, _kind(cls, field), field.name)
        last = field
    r.expect_end()
    if last is not None and values[last.name] == last.default:
        raise BitstreamError(f"model config field {last.name}: its default written out (writers omit it)")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise BitstreamError(f"invalid model config: {exc}") from None


def _bounded(value: int, name: str) -> int:
    from bitstream import BitstreamError

    if value >= MAX_INT:
        raise BitstreamError(f"model config field {name}: value {value} out of range")
    return value
