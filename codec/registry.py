"""The one registry of model families. Ids are permanent: they are written into every stream.

Never renumber a family; a retired family keeps its id reserved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codec.errors import ConfigError

if TYPE_CHECKING:
    from codec.family import Family

#: name -> permanent numeric id written in the stream header. Only append.
FAMILY_IDS: dict[str, int] = {
    "nerv": 1,
    "hnerv": 2,
    "nirvana": 3,
    "teconerv": 4,
}

_FAMILIES: dict[str, "Family"] = {}


def register(family: "Family") -> "Family":
    """Register a family instance under its name; its id must be the permanent one above."""
    if FAMILY_IDS.get(family.name) != family.family_id:
        raise RuntimeError(f"family {family.name!r} must use its permanent id {FAMILY_IDS.get(family.name)}")
    _FAMILIES[family.name] = family
    return family


def _load_builtin() -> None:
    # Importing the model modules registers them (each calls register() once).
    import codec.models  # noqa: F401


def get_family(name: str) -> "Family":
    _load_builtin()
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; available: {', '.join(family_names())}"
        ) from None


def family_by_id(family_id: int) -> "Family":
    _load_builtin()
    for family in _FAMILIES.values():
        if family.family_id == family_id:
            return family
    raise KeyError(family_id)


def family_names() -> list[str]:
    """Registered families, in id order."""
    _load_builtin()
    return sorted(_FAMILIES, key=lambda n: FAMILY_IDS[n])


def families_reading(option: str) -> list[str]:
    """Registered families that read the family-specific ``option`` (an ``EncodeConfig`` field)."""
    return [n for n in family_names() if option in _FAMILIES[n].options]
