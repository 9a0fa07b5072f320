"""Method names -> method objects: every ffmpeg anchor and every registered inrv model family.

``get_methods("hnerv,x265-medium,svtav1")`` gives the objects a sweep runs. Names are the anchor names
of :data:`eval.anchors.ANCHOR_SPECS` (``x264-medium``, ``x265-veryslow-ld``, ``svtav1``, ``vvenc``...,
plus the aliases ``x264``/``x265`` for preset medium) and the families of :func:`codec.registry.family_names`.
"""

from __future__ import annotations

from dataclasses import dataclass

from codec.errors import ConfigError
from eval.anchors import ANCHOR_SPECS, FfmpegAnchor
from eval.base import Method
from eval.inrv import InrvMethod

__all__ = ["InrvOptions", "ALIASES", "method_names", "get_method", "get_methods"]

#: Short names accepted for anchors.
ALIASES: dict[str, str] = {"x264": "x264-medium", "x265": "x265-medium", "av1": "svtav1", "vvc": "vvenc"}


@dataclass(frozen=True)
class InrvOptions:
    """Options shared by every inrv method of a run (``threads``: CPU threads of their encodes and
    decodes, which decide the files; None: the codec's default; ``jobs``: each encode's jobs,
    :attr:`codec.config.EncodeConfig.jobs`: None, in the encode's process; 0, one per core; N,
    with ``threads`` then the threads of each job, one when None)."""

    steps: int | None = None
    time_budget: float | None = None
    device: str = "auto"
    threads: int | None = None
    jobs: int | None = None

    def __post_init__(self) -> None:
        if self.jobs is not None and self.jobs < 0:
            raise ConfigError(f"--jobs must be >= 0 (0: one per core), got {self.jobs}")


def _families() -> list[str]:
    from codec.registry import family_names

    return family_names()


def method_names() -> list[str]:
    """Every method name: registered inrv families first, then anchors."""
    return _families() + list(ANCHOR_SPECS)


def get_method(name: str, inrv: InrvOptions = InrvOptions(), anchor_threads: int | None = None) -> Method:
    """The method called ``name``; :class:`ConfigError` listing the choices for an unknown one.
    ``anchor_threads``: the thread count an anchor's encoder and decoder are told (None: theirs)."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key in ANCHOR_SPECS:
        return FfmpegAnchor(ANCHOR_SPECS[key], threads=anchor_threads)
    families = _families()
    if key in families:
        return InrvMethod(key, steps=inrv.steps, time_budget=inrv.time_budget, device=inrv.device,
                          threads=inrv.threads, jobs=inrv.jobs)
    raise ConfigError(f"unknown method {name!r}; available: {', '.join(families + list(ANCHOR_SPECS))}")


def get_methods(names: str | list[str], inrv: InrvOptions = InrvOptions(),
                anchor_threads: int | None = None) -> list[Method]:
    """Methods for a comma-separated string or a list of names (duplicates dropped, order kept).

    The name ``inrv`` stands for every registered model family.
    """
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [n for n in (i.strip() for i in items) if n]
    items = [f for i in items for f in (_families() if i.lower() == "inrv" else [i])]
    if not items:
        raise ConfigError("no methods given (--methods hnerv,x265-medium,...)")
    methods: dict[str, Method] = {}
    for item in items:
        method = get_method(item, inrv, anchor_threads)
        methods.setdefault(method.name, method)
    return list(methods.values())
