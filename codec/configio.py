"""Compact binary form of a family's frozen config dataclass (a few bytes in the stream header).

Fields are written in declaration order: ``int`` as an unsigned varint, ``float`` as float32,
``bool`` as one byte, ``tuple[int, ...]`` as a count then varints. Geometry is not part of a
family config: it lives in the stream header.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TypeVar

from bitstream import BitstreamError
from bitstream.fields import ByteReader, ByteWriter

T = TypeVar("T")

MAX_TUPLE = 64
MAX_INT = 2**31


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


def pack_config(config: object) -> bytes:
    """Serialise a frozen dataclass of ints, floats, bools and int tuples."""
    w = ByteWriter()
    cls = type(config)
    for field in dataclasses.fields(cls):
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


def unpack_config(cls: type[T], data: bytes) -> T:
    """Inverse of :func:`pack_config`; any malformed or out-of-range content is a BitstreamError."""
    r = ByteReader(data)
    values = {}
    for field in dataclasses.fields(cls):
        kind = _kind(cls, field)
        if kind == "bool":
            values[field.name] = bool(r.u8())
        elif kind == "int":
            values[field.name] = _bounded(r.uvarint(), field.name)
        elif kind == "float":
            values[field.name] = r.f32()
        else:
            count = r.uvarint()
            if count > MAX_TUPLE:
                raise BitstreamError(f"model config field {field.name}: {count} items is too many")
            values[field.name] = tuple(_bounded(r.uvarint(), field.name) for _ in range(count))
    r.expect_end()
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise BitstreamError(f"invalid model config: {exc}") from None


def _bounded(value: int, name: str) -> int:
    if value >= MAX_INT:
        raise BitstreamError(f"model config field {name}: value {value} out of range")
    return value
