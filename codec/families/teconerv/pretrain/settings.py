"""The settings of a pretraining run, without torch: what ``inrv pretrain`` reads its defaults
from and checks its arguments against before torch is imported. :class:`PretrainConfig
<codec.families.teconerv.pretrain.train.PretrainConfig>` adds the networks' sizes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codec.errors import ConfigError
from codec.families.teconerv.pretrain.corpus import MANIFEST

__all__ = ["PretrainSettings", "check_data"]


@dataclass(frozen=True)
class PretrainSettings:
    """One pretraining run. ``data``: a folder of videos or a corpus manifest (default: the
    shipped corpus). ``out``: the run's folder (checkpoint, log, weights). ``batch`` is per
    process. ``time_limit`` (seconds): stop at the next checkpoint after it, to resume later."""

    data: str = str(MANIFEST)
    out: str = "pretrain-run"
    steps: int = 20_000
    coherence_steps: int = 2_000
    coherence: float = 0.1
    batch: int = 8
    lr: float = 1e-3
    warmup: int = 300
    seed: int = 0
    checkpoint_every: int = 200
    max_scale: float = 3.0
    time_limit: float | None = None
    workers: int = 0
    device: str = "auto"
    threads: int | None = None
    progress: bool = True
    cache: str | None = None

    def __post_init__(self) -> None:
        if self.steps < 1 or self.coherence_steps < 0 or self.batch < 1 or self.checkpoint_every < 1:
            raise ConfigError("pretrain: steps and batch must be >= 1, coherence steps >= 0")
        if not 0 <= self.workers <= 256:
            raise ConfigError("pretrain: workers must be in 0..256")
        if not (self.lr > 0 and self.coherence >= 0 and self.max_scale >= 1 and self.warmup >= 0):
            raise ConfigError("pretrain: lr must be > 0, coherence >= 0, max scale >= 1")

    @property
    def total_steps(self) -> int:
        return self.steps + self.coherence_steps

    def pairs_at(self, step: int) -> bool:
        """Whether ``step`` trains on pairs of segments (the coherence stage)."""
        return step >= self.steps and self.coherence > 0


def check_data(data: str | os.PathLike) -> Path:
    """``data`` as a path, when it is a folder (of videos) or a corpus manifest (``.json``); a
    :class:`ConfigError` otherwise."""
    path = Path(data)
    if not (path.is_dir() or (path.is_file() and path.suffix == ".json")):
        raise ConfigError(f"{path}: give a folder of videos or a corpus manifest (.json)")
    return path
