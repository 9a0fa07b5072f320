"""The one registry of model families. Ids are permanent: they are written into every stream.

A family is a package under ``codec/families/`` whose ``FAMILY`` is a :class:`codec.family.Family`;
adding one means writing the package and one line in :data:`FAMILIES`. Packages are imported on
first use. Never renumber a family; a retired family keeps its id reserved.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from codec.errors import ConfigError

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


def families_declaring(option: str) -> dict[str, "OptionSpec"]:
    """Families whose options declare ``option`` (a field name), with their declaration."""
    return {f.name: s for f in families() for s in f.options_cls.specs() if s.name == option}
