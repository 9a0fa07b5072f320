"""Typed, frozen configuration of an encode run (the public API's input): the options every family
shares, and the chosen family's own options (:mod:`codec.options`), validated together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from codec.errors import ConfigError
from codec.options import Options

#: The rate-quality knob every family maps to its own parameters: 1 (smallest) .. 8 (best).
QUALITIES = range(1, 9)
DEFAULT_QUALITY = 4
#: ``codec.decode`` refuses a stream that decodes to more pixels than this unless told otherwise
#: (``max_pixels``, ``inrv decode --max-pixels``): 2^34 pixels, about 8,300 frames of 1080p. A
#: header may claim ten million frames in a few kilobytes, and a whole-clip network renders any.
MAX_DECODE_PIXELS = 2**34


@dataclass(frozen=True)
class EncodeConfig:
    """Everything that decides what an encode produces.

    Common to every family: ``model`` (a registered family name), ``quality`` (1..8; ``None``: the
    family's default), the frame range ``start`` / ``count`` (``None``: to the end), ``device``,
    ``seed``, ``threads`` (the CPU thread count, ``None``: every core or ``INRV_THREADS``; part
    of what decides the result, since it changes the order of floating-point sums in training)
    and ``progress`` (bars on stderr).

    ``options``: the family's own options, as its :class:`~codec.options.Options` dataclass
    (``NirvanaOptions(gop=4)``) or a mapping of option names (``{"gop": 4}``), checked against the
    family's declaration: a name the family does not declare is a :class:`ConfigError`. After
    construction ``options`` is always the family's validated dataclass. :meth:`of` takes both
    kinds of fields in one call: ``EncodeConfig.of(model="nirvana", quality=5, gop=4)``.
    """

    model: str = "nerv"
    quality: int | None = None
    start: int = 0
    count: int | None = None
    device: str = "auto"
    seed: int = 0
    threads: int | None = None
    progress: bool = True
    options: Options | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        from codec.registry import get_family

        if self.quality is not None and self.quality not in QUALITIES:
            raise ConfigError(f"--quality must be in {QUALITIES[0]}..{QUALITIES[-1]}, got {self.quality}")
        if self.start < 0:
            raise ConfigError(f"first frame must be >= 0, got {self.start}")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"frame count must be >= 1, got {self.count}")
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise ConfigError(f"--threads must be in 1..1024, got {self.threads}")
        family = get_family(self.model)
        object.__setattr__(self, "options", family_options(family, self.options))

    @classmethod
    def of(cls, model: str = "nerv", **values: Any) -> "EncodeConfig":
        """A config from common fields and the family's option names together."""
        common = {f.name for f in fields(cls)} - {"model", "options"}
        return cls(model=model, **{k: v for k, v in values.items() if k in common},
                   options={k: v for k, v in values.items() if k not in common})

    @property
    def quality_level(self) -> int:
        """``quality``, or the default level when none was given."""
        return DEFAULT_QUALITY if self.quality is None else self.quality


def family_options(family, given: Options | Mapping[str, Any] | None) -> Options:
    """``given`` as ``family``'s validated options (see :attr:`EncodeConfig.options`)."""
    cls = family.options_cls
    if given is None:
        return cls()
    if isinstance(given, Options):
        if type(given) is not cls:
            raise ConfigError(f"--model {family.name} takes {cls.__name__}, not {type(given).__name__}")
        return given
    declared = {s.name: s for s in cls.specs()}
    for name, value in given.items():
        if name not in declared and value is not None:
            raise ConfigError(not_declared(name, family.name))
    return cls(**{k: v for k, v in given.items() if v is not None})


def not_declared(name: str, model: str) -> str:
    """The message for option ``name`` given to a family that does not declare it."""
    from codec.registry import families_declaring

    users = families_declaring(name)
    flag = next((s.flag for s in users.values()), "--" + name.replace("_", "-"))
    return f"{flag} does not apply to --model {model}" + (f" (only to {', '.join(users)})" if users else "")
