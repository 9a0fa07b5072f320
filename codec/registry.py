"""The one registry of model families. Ids are permanent: they are written into every stream.

A family is a package under ``codec/families/`` whose ``FAMILY`` is a :class:`codec.family.Family`;
adding one means writing the package and one line in :data:`FAMILIES`. Packages are imported on
first use (by name, with :func:`importlib.import_module`: the registry imports no family module
statically, so a family may import anything of ``codec`` that sits below it). Never renumber a
family; a retired family keeps its id reserved.

Option resolution lives here too: :func:`family_options` turns what a caller gives as a family's
options (its dataclass, or a mapping of option names) into that family's validated dataclass,
which :class:`codec.config.EncodeConfig` stores.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from codec.errors import ConfigError
from codec.family import Laddered
from codec.options import Options

if TYPE_CHECKING:
    from codec.family import Family
    from codec.options import OptionSpec

#: permanent numeric id (written in the stream header) -> (name, module; None: reserved). Only append.
FAMILIES: dict[int, tuple[str, str | None]] = {
    1: ("nerv", "codec.families.nerv"),
    2: ("hnerv", "codec.families.hnerv"),
    3: ("nirvana", "codec.families.nirvana"),
    4: ("teconerv", "codec.families.teconerv"),
    5: ("grid", "codec.families.grid"),
}
#: name -> permanent id, for every id above (reserved ones included).
FAMILY_IDS: dict[str, int] = {name: family_id for family_id, (name, _) in FAMILIES.items()}

_loaded: dict[int, "Family"] = {}


def _load(family_id: int) -> "Family":
    if family_id not in _loaded:
        name, module = FAMILIES[family_id]
        family = importlib.import_module(module).FAMILY
        if (family.name, family.family_id) != (name, family_id):
            raise RuntimeError(f"{module}.FAMILY is {family.name!r} with id {family.family_id}, "
                               f"registered as {name!r} with id {family_id}")
        _loaded[family_id] = family
    return _loaded[family_id]


def family_names() -> list[str]:
    """Families that can encode and decode, in id order (reserved ids left out)."""
    return [name for _, (name, module) in sorted(FAMILIES.items()) if module is not None]


def get_family(name: str) -> "Family":
    family_id = FAMILY_IDS.get(name)
    if family_id is None or FAMILIES[family_id][1] is None:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(family_names())}")
    return _load(family_id)


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
    return {f.name: s for f in families() for s in f.options_cls.specs() if s.name == option}


def family_options(model: str, given: Options | Mapping[str, Any] | None) -> Options:
    """``given`` as the validated options of family ``model``: its options dataclass as it is, a
    mapping of option names checked against the family's declaration (a name it does not declare
    is a :class:`ConfigError`; ``None`` values are left out), ``None`` the defaults."""
    family = get_family(model)
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
