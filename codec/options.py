"""Typed, declared encode options: each family says which options it reads, with their types,
ranges, help text and defaults, as a frozen dataclass of :func:`option` fields.

The command line generates ``inrv encode`` flags from the options of every registered family
(:func:`codec.cli`), and :class:`codec.config.EncodeConfig` validates what it is given against
the chosen family's declaration: an option the family does not declare is an error, not ignored.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from codec.errors import ConfigError

__all__ = ["OptionSpec", "Options", "option"]

_KEY = "inrv.option"
_KINDS = (int, float, str, bool)


@dataclass(frozen=True)
class OptionSpec:
    """One declared option: its field ``name``, command-line ``flag``, value type ``kind``, bounds
    (``low``/``high`` inclusive, ``positive``: above 0), ``choices``, ``help`` and ``metavar``, and
    ``group``: options of one group are alternatives (one of them at most on the command line)."""

    name: str
    flag: str
    kind: type
    help: str
    low: float | None = None
    high: float | None = None
    positive: bool = False
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    group: str | None = None

    def check(self, value: Any) -> Any:
        """``value`` as this option's type; :class:`ConfigError` (one line naming the flag) when it
        has the wrong type or lies outside the declared range."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{self.flag} must be true or false, got {value!r}")
            return value
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{self.flag} must be an integer, got {value!r}")
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{self.flag} must be a finite number, got {value!r}")
            value = float(value)
        elif not isinstance(value, str):
            raise ConfigError(f"{self.flag} must be a string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"unknown {self.flag.lstrip('-')} {value!r}; choose from {', '.join(self.choices)}")
        if self.positive and not value > 0:
            raise ConfigError(f"{self.flag} must be > 0, got {value}")
        low, high = self.low, self.high
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"in {low}..{high}" if low is not None and high is not None else (
                f">= {low}" if low is not None else f"<= {high}")
            raise ConfigError(f"{self.flag} must be {bounds}, got {value}")
        return value


def option(default: Any = None, *, help: str, flag: str | None = None, low: float | None = None,  # noqa: A002
           high: float | None = None, positive: bool = False, choices: tuple[str, ...] | None = None,
           metavar: str | None = None, group: str | None = None) -> Any:
    """A declared field of an :class:`Options` dataclass (see :class:`OptionSpec`); the flag
    defaults to ``--`` and the field name with dashes."""
    meta = dict(help=help, flag=flag, low=low, high=high, positive=positive, choices=choices,
                metavar=metavar, group=group)
    return dataclasses.field(default=default, metadata={_KEY: meta})


@dataclass(frozen=True)
class Options:
    """Base of a family's options. Every field is an :func:`option`; ``None`` means "the family's
    default", and a given value is checked against its declaration when the object is made."""

    def __post_init__(self) -> None:
        for spec in self.specs():
            value = getattr(self, spec.name)
            if value is not None:
                object.__setattr__(self, spec.name, spec.check(value))

    @classmethod
    def specs(cls) -> tuple[OptionSpec, ...]:
        """Every declared option, in field order."""
        return _specs(cls)


@cache
def _specs(cls: type) -> tuple[OptionSpec, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_KEY)
        if meta is None:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with option()")
        kinds = [a for a in typing.get_args(hints[f.name]) or (hints[f.name],) if a is not type(None)]
        if len(kinds) != 1 or kinds[0] not in _KINDS:
            raise TypeError(f"{cls.__name__}.{f.name}: an option is an int, a float, a str or a bool "
                            "(or None)")
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        out.append(OptionSpec(name=f.name, flag=flag, kind=kinds[0], **{k: v for k, v in meta.items() if k != "flag"}))
    return tuple(out)
