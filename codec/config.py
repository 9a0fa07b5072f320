"""Typed, frozen configuration of an encode run (the public API's input): the options every family
shares, and the chosen family's own options (:mod:`codec.options`), validated together.

The family's options are resolved by :func:`codec.registry.family_options` when a config is made
(never at import): the registry imports no family module statically, so the families can import
this module without a circle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from codec.errors import ConfigError
from codec.options import Options
from codec.registry import family_options

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

    ``jobs`` and ``ray`` spread one encode's frames over processes or a cluster where the family's
    coding structure allows it (:mod:`codec.tools.schedule`): ``jobs`` worker processes here
    (``0``: one per core; ``None``: the encode runs in this process), or Ray tasks on the cluster
    at ``ray`` (``""``: a local runtime, or the one ``RAY_ADDRESS`` names). Given either, each job
    trains with ``threads`` threads (``None``: one), and the file is the same bytes for any
    ``jobs``, with or without Ray, at one thread count per job (:attr:`job_threads`).

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
    jobs: int | None = None
    ray: str | None = None

    def __post_init__(self) -> None:
        if self.quality is not None and self.quality not in QUALITIES:
            raise ConfigError(f"--quality must be in {QUALITIES[0]}..{QUALITIES[-1]}, got {self.quality}")
        if self.start < 0:
            raise ConfigError(f"first frame must be >= 0, got {self.start}")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"frame count must be >= 1, got {self.count}")
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise ConfigError(f"--threads must be in 1..1024, got {self.threads}")
        if self.jobs is not None and not 0 <= self.jobs <= 1024:
            raise ConfigError(f"--jobs must be in 0..1024 (0: one per core), got {self.jobs}")
        object.__setattr__(self, "options", family_options(self.model, self.options))

    @classmethod
    def of(cls, model: str = "nerv", **values: Any) -> "EncodeConfig":
        """A config from common fields and the family's option names together."""
        common = {f.name for f in fields(cls)} - {"model", "options"}
        return cls(model=model, **{k: v for k, v in values.items() if k in common},
                   options={k: v for k, v in values.items() if k not in common})

    @property
    def parallel(self) -> bool:
        """Whether the encode was asked to run its frames as jobs (``jobs`` or ``ray`` given)."""
        return self.jobs is not None or self.ray is not None

    @property
    def job_threads(self) -> int | None:
        """Threads each job trains with: ``threads``, or one when jobs were asked for (``None``:
        the encode's own count, every core or ``INRV_THREADS``)."""
        if self.threads is None and self.parallel:
            return 1
        return self.threads

    @property
    def quality_level(self) -> int:
        """``quality``, or the default level when none was given."""
        return DEFAULT_QUALITY if self.quality is None else self.quality


def frame_range(total: int, start: int, count: int | None) -> tuple[int, int]:
    """``(start, count)`` of a range within a video of ``total`` frames (``count`` None: to the end);
    a :class:`ConfigError` when it starts or ends past the end."""
    if start >= total:
        raise ConfigError(f"first frame {start} is past the end: the video has {total} frames")
    if count is None:
        count = total - start
    if start + count > total:
        raise ConfigError(f"frames {start}:{count} go past the end: the video has {total} frames")
    return start, count
