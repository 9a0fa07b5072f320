"""The one registry of model families. Ids are permanent: they are written into every stream.

A family is a package under ``codec/families/`` in two parts: the package itself declares, without
importing torch or numpy, what the command line and option checks need (``OPTIONS``: its
:class:`~codec.options.Options` dataclass, ``SUMMARY``: a line on what it is for, ``STREAMS``:
whether it reads its input group by group), read as a :class:`Declaration`; its ``family`` module
holds ``FAMILY``, the :class:`codec.family.Family` (networks, coders), loaded on first use. Adding
one means writing the package and one line in :data:`FAMILIES`. Modules are imported by name with
:func:`importlib.import_module`: the registry imports no family module statically, so a family may
import anything of ``codec`` that sits below it. Never renumber a family; a retired family keeps
its id reserved.

Option resolution lives here too: :func:`family_options` turns what a caller gives as a family's
options (its dataclass, or a mapping of option names) into that family's validated dataclass,
which :class:`codec.config.EncodeConfig` stores.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codec.errors import ConfigError
from codec.family import Laddered
from codec.options import Options

if TYPE_CHECKING:
    from codec.family import Family
    from codec.options import OptionSpec

#: permanent numeric id (written in the stream header) -> (name, package; None: reserved). Only append.
FAMILIES: dict[int, tuple[str, str | None]] = {
    1: ("nerv", "codec.families.nerv"),
    2: ("hnerv", "codec.families.hnerv"),
    3: ("nirvana", "codec.families.nirvana"),
    4: ("teconerv", "codec.families.teconerv"),
    5: ("grid", "codec.families.grid"),
    6: ("motion", "codec.families.motion"),
}
#: name -> permanent id, for every id above (reserved ones included).
FAMILY_IDS: dict[str, int] = {name: family_id for family_id, (name, _) in FAMILIES.items()}

_loaded: dict[int, "Family"] = {}


@dataclass(frozen=True)
class Declaration:
    """What a family's package declares without importing its networks: enough to build the
    command line, check options and say what the family is for (``inrv --help`` stays fast)."""

    name: str
    family_id: int
    #: the family's :class:`~codec.options.Options` dataclass (its package's ``OPTIONS``)
    options_cls: type[Options]
    #: what the family is for, in a line (its package's ``SUMMARY``)
    summary: str
    #: True: the encoder reads the input group by group; False: it holds the whole clip
    streams: bool


def _load(family_id: int) -> "Family":
    if family_id not in _loaded:
        name, package = FAMILIES[family_id]
        family = importlib.import_module(f"{package}.family").FAMILY
        if (family.name, family.family_id) != (name, family_id):
            raise RuntimeError(f"{package}.family.FAMILY is {family.name!r} with id {family.family_id}, "
                               f"registered as {name!r} with id {family_id}")
        declared = _declare(family_id)
        if (family.options_cls, family.summary, family.streams) != (declared.options_cls, declared.summary,
                                                                     declared.streams):
            raise RuntimeError(f"{package}.family.FAMILY's options_cls, summary or streams are not its "
                               "package's OPTIONS, SUMMARY and STREAMS")
        _loaded[family_id] = family
    return _loaded[family_id]


def _declare(family_id: int) -> Declaration:
    """The declaration of a registered family: from the family object when one is loaded (test
    doubles register theirs there), else from its package alone."""
    name, package = FAMILIES[family_id]
    if family_id in _loaded:
        f = _loaded[family_id]
        return Declaration(name, family_id, f.options_cls, f.summary, f.streams)
    module = importlib.import_module(package)
    return Declaration(name, family_id, module.OPTIONS, module.SUMMARY, module.STREAMS)


def declaration(name: str) -> Declaration:
    """The :class:`Declaration` of family ``name`` (:class:`ConfigError` for an unknown name),
    without importing the family's networks."""
    return _declare(_family_id(name))


def declarations() -> list[Declaration]:
    """The declaration of every family that can encode and decode, in id order (no torch)."""
    return [declaration(name) for name in family_names()]


def family_names() -> list[str]:
    """Families that can encode and decode, in id order (reserved ids left out)."""
    return [name for _, (name, module) in sorted(FAMILIES.items()) if module is not None]


def _family_id(name: str) -> int:
    family_id = FAMILY_IDS.get(name)
    if family_id is None or FAMILIES[family_id][1] is None:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(family_names())}")
    return family_id


def get_family(name: str) -> "Family":
    return _load(_family_id(name))


def family_by_id(family_id: int) -> "Family":
    """The family of a stream's header id; KeyError for an id no family has."""
    if FAMILIES.get(family_id, (None, None))[1] is None:
        raise KeyError(family_id)
    return _load(family_id)


def families() -> list["Family"]:
    """Every family that can encode and decode, in id order."""
    return [get_family(name) for name in family_names()]


def laddered(model: str) -> Laddered:
    """Family ``model`` as a :class:`codec.family.Laddered` (what rate control and the ladder sweeps
    use); a :class:`ConfigError` for a family without a quality ladder."""
    family = get_family(model)
    if not isinstance(family, Laddered):
        having = ", ".join(f.name for f in families() if isinstance(f, Laddered))
        raise ConfigError(f"--model {model} has no quality ladder (the families with one: {having})")
    return family


def families_declaring(option: str) -> dict[str, "OptionSpec"]:
    """Families whose options declare ``option`` (a field name), with their declaration."""
    return {d.name: s for d in declarations() for s in d.options_cls.specs() if s.name == option}


def family_options(model: str, given: Options | Mapping[str, Any] | None) -> Options:
    """``given`` as the validated options of family ``model``: its options dataclass as it is, a
    mapping of option names checked against the family's declaration (a name it does not declare
    is a :class:`ConfigError`; ``None`` values are left out), ``None`` the defaults."""
    family = declaration(model)
    cls = family.options_cls
    if given is None:
        return cls()
    if isinstance(given, Options):
        if type(given) is not cls:
            raise ConfigError(f"--model {family.name} takes {cls.__name__}, not {type(given).__name__}")
        return given
    declared = {s.name for s in cls.specs()}
    for name, value in given.items():
        if name not in declared and value is not None:
            raise ConfigError(not_declared(name, family.name))
    return cls(**{k: v for k, v in given.items() if v is not None})


def not_declared(name: str, model: str) -> str:
    """The message for option ``name`` given to a family that does not declare it."""
    users = families_declaring(name)
    flag = next((s.flag for s in users.values()), "--" + name.replace("_", "-"))
    return f"{flag} does not apply to --model {model}" + (f" (only to {', '.join(users)})" if users else "")
