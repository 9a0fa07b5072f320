"""Training as data: phases, presets and the divergence guards (run by :mod:`codec.tools.runner`).

A :class:`Preset` is what a family trains with: a tuple of :class:`Phase` (how long each lasts,
how the quantizer behaves, which parameter groups are frozen, learning rates that differ from the
preset's), the learning rate and schedule of each named parameter group, and the
:class:`Guards`. :class:`Limits` are what one run adds: its length in steps, a time budget and the
early stops. Presets live with their families (``codec/families/grid/presets.py``; the fitted
families build theirs from :class:`codec.tools.fit.FitConfig`), after Cool-chic's
``training/presets.py`` (Ladune et al., "Cool-chic: Coordinate-based Low Complexity Hierarchical
Image Codec", ICCV 2023), which also describes a training run as a list of phases.

Progress runs from 0 to 1 over a run: by steps, or by time when a time budget is set and that is
further. A phase's ``share`` is its stretch of that progress (shares are placed one after the other
from 0; one phase per preset may leave its share out and take what the others leave); a phase of
``steps`` and/or ``seconds`` lasts that long wherever it starts; the last phase runs to the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal, Mapping

from codec.errors import ConfigError

#: How a phase's quantizers behave: additive uniform noise (and its rate), soft rounding at an
#: annealed temperature plus noise (C3), straight-through hard rounding (what the stream holds),
#: or no quantization at all (a float refinement, quantized afterwards).
QuantMode = Literal["noise", "soft", "hard", "none"]
QUANT_MODES = ("noise", "soft", "hard", "none")


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up from 0.1 to 1 over ``warmup`` of the span, then cosine decay to 1% of it
    (the schedule of NeRV, Chen et al. 2021)."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return 0.1 + 0.9 * progress / warmup
    rest = (progress - warmup) / max(1e-9, 1.0 - warmup)
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * rest))


@dataclass(frozen=True)
class Schedule:
    """A learning rate's factor over its span (the whole run, or the phase it is set in):
    ``cosine`` (:func:`lr_factor` with ``warmup``) or ``constant`` (1 throughout)."""

    decay: Literal["cosine", "constant"] = "cosine"
    warmup: float = 0.0
    over: Literal["run", "phase"] = "run"

    def __post_init__(self) -> None:
        if self.decay not in ("cosine", "constant") or self.over not in ("run", "phase"):
            raise ConfigError(f"unknown schedule {self.decay!r} over {self.over!r}")
        if not 0.0 <= self.warmup < 1.0:
            raise ConfigError("a schedule's warm-up is a share of its span, in [0, 1)")

    def factor(self, run: float, phase: float) -> float:
        """The factor at ``run`` progress of the run and ``phase`` progress of the phase."""
        if self.decay == "constant":
            return 1.0
        return lr_factor(run if self.over == "run" else phase, self.warmup)


@dataclass(frozen=True)
class Rate:
    """A parameter group's learning rate: ``base`` times its schedule's factor."""

    base: float
    schedule: Schedule = Schedule()


@dataclass(frozen=True)
class Quantizer:
    """A phase's quantizer: its mode and, for ``soft``, the temperature annealed linearly from
    ``temperature[0]`` to ``temperature[1]`` over the phase."""

    mode: QuantMode = "noise"
    temperature: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.mode not in QUANT_MODES:
            raise ConfigError(f"unknown quantizer mode {self.mode!r}; choose from {', '.join(QUANT_MODES)}")
        if (self.mode == "soft") != (self.temperature is not None):
            raise ConfigError("soft rounding, and only it, takes a temperature schedule")

    def temperature_at(self, progress: float, begin: float, length: float) -> float | None:
        """The temperature at run ``progress`` in a phase from ``begin`` lasting ``length`` of the
        run (None unless soft)."""
        if self.temperature is None:
            return None
        t0, t1 = self.temperature
        return t0 + (t1 - t0) * (progress - begin) / length


@dataclass(frozen=True)
class Phase:
    """One stretch of training: its length (``share`` of the run's progress, or ``steps`` and/or
    ``seconds``; none: what the others leave), its quantizer, the parameter groups it freezes, and
    learning rates of groups that differ from the preset's."""

    name: str
    quantizer: Quantizer = Quantizer()
    share: float | None = None
    steps: int | None = None
    seconds: float | None = None
    frozen: frozenset[str] = frozenset()
    lr: Mapping[str, Rate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.share is not None and (self.steps is not None or self.seconds is not None):
            raise ConfigError(f"phase {self.name!r}: a share of the run, or steps and/or seconds, not both")
        if self.share is not None and not 0.0 <= self.share <= 1.0:
            raise ConfigError(f"phase {self.name!r}: share must lie in [0, 1]")
        if (self.steps is not None and self.steps < 1) or (self.seconds is not None and self.seconds <= 0):
            raise ConfigError(f"phase {self.name!r}: steps and seconds must be positive")

    @property
    def bounded(self) -> bool:
        return self.steps is not None or self.seconds is not None


@dataclass(frozen=True)
class Guards:
    """The divergence guards (:class:`codec.tools.runner.Guard`).

    A step is taken for a divergence when its loss is not finite, when the watched loss (the step's
    own when every step sees the whole target, else the running mean) exceeds ``spike`` times the
    lowest running loss, or, with ``collapse``, when the watched MSE exceeds ``collapse`` times the
    lowest running MSE (a slow collapse: the distortion jumps while the bits fall, so the loss
    rises less), for ``persist`` steps in a row (a loss that is not finite at once). Then the model
    and the optimizer go back to the snapshot (taken every ``snapshot_every`` steps while the
    watched loss is at or below the best) and training goes on at ``lr_drop`` times the learning
    rate, at most ``max_restarts`` times. At the end, a run whose last watched figures would have
    set a guard off (its restarts spent) ends on the snapshot."""

    spike: float = 1.5
    collapse: float | None = 2.0
    max_restarts: int = 4
    snapshot_every: int = 10
    lr_drop: float = 0.5
    persist: int = 1

    def __post_init__(self) -> None:
        if self.spike <= 1 or (self.collapse is not None and self.collapse <= 1):
            raise ConfigError("the guards' factors must exceed 1")
        if self.max_restarts < 0 or self.snapshot_every < 1 or not 0 < self.lr_drop < 1 or self.persist < 1:
            raise ConfigError("max_restarts >= 0, snapshot_every >= 1, persist >= 1 and lr_drop in (0, 1)")


#: What nerv, hnerv, nirvana, grid and teconerv's refinement train with (nirvana's measured
#: settings, see codec.families.nirvana.encode.SPIKE_GUARD and COLLAPSE_GUARD).
DEFAULT_GUARDS = Guards()
#: What nerv and hnerv train with. Each of their steps sees two frames of the clip, and their fits
#: have real spikes that heal by themselves: hnerv at level 6 on bikes (320x136, 32 frames) at twice
#: its learning rate dips 3 dB under its best running MSE for up to 82 steps in a row, then ends at
#: 34.4 dB (``scripts/collapse_probe.py --unguarded``). :data:`DEFAULT_GUARDS` restarted every level
#: of hnerv on bikes four times at its own rate, each time at half the rate, and the file lost
#: 3.3 dB at level 1 (27.78 dB at 0.070 bpp against 31.07 dB at 0.049 bpp unguarded,
#: ``scripts/audit_ladder.py``). A collapse stays: at 5x the rate the running MSE stayed over twice
#: its best for 1,493 steps, and the white video of hnerv level 6 to its end. A run that ends over
#: a threshold ends on its best snapshot (:meth:`codec.tools.runner.Guard.finish`).
WHOLE_CLIP_GUARDS = Guards(spike=4.0, collapse=2.0, persist=100)


@dataclass(frozen=True)
class Preset:
    """A training plan: phases in order, the learning rate of each named parameter group (the
    groups a model under training provides), the guards (None: unguarded) and the optimizer's
    ``foreach`` switch (``torch.optim.Adam``'s; None: torch's default for the device)."""

    phases: tuple[Phase, ...]
    lr: Mapping[str, Rate]
    guards: Guards | None = DEFAULT_GUARDS
    foreach: bool | None = None

    def __post_init__(self) -> None:
        if not self.phases:
            raise ConfigError("a preset needs at least one phase")
        if sum(1 for p in self.phases if p.share is None and not p.bounded) > 1:
            raise ConfigError("at most one phase may take the rest of the run")
        named = set(self.lr)
        for p in self.phases:
            unknown = (set(p.lr) | p.frozen) - named
            if unknown:
                raise ConfigError(f"phase {p.name!r} names unknown parameter groups {sorted(unknown)}")

    def spans(self) -> list[tuple[float, float] | None]:
        """Each phase's ``(begin, end)`` on the run's progress (None for phases of steps or
        seconds): shares placed one after the other from 0, the phase without one taking what
        the others leave."""
        shares = [p.share for p in self.phases if not p.bounded]
        rest = 1.0 - sum(s for s in shares if s is not None)
        spans: list[tuple[float, float] | None] = []
        begin = 0.0
        for p in self.phases:
            if p.bounded:
                spans.append(None)
                continue
            share = rest if p.share is None else p.share
            spans.append((begin, begin + share))
            begin = begin + share
        return spans

    def rate(self, phase: Phase, group: str) -> Rate:
        return phase.lr.get(group, self.lr[group])

    def with_guards(self, guards: Guards | None) -> "Preset":
        return replace(self, guards=guards)


@dataclass(frozen=True)
class Limits:
    """What one run adds to a preset: its length in steps, a time budget in seconds (progress
    goes by time when that is further), and the early stops: ``patience`` steps without a 0.1%
    better running loss, or ``target_psnr`` reached by the running MSE, neither before
    ``min_steps``."""

    steps: int
    time_budget: float | None = None
    patience: int | None = None
    target_psnr: float | None = None
    min_steps: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError("a run needs at least one step")


def quantized_then_hard(lr: Mapping[str, Rate], hard_tail: float, mode: QuantMode = "noise",
                        temperature: tuple[float, float] | None = None, guards: Guards | None = DEFAULT_GUARDS,
                        foreach: bool | None = None, frozen: frozenset[str] = frozenset()) -> Preset:
    """The usual plan: ``mode`` (noise, or soft rounding with ``temperature``) for the run but its
    last ``hard_tail``, then hard rounding, every group at its rate throughout."""
    first = Phase(mode, Quantizer(mode, temperature), frozen=frozen)
    phases = (first, Phase("hard", Quantizer("hard"), share=hard_tail, frozen=frozen)) if hard_tail > 0 else (first,)
    return Preset(phases, lr, guards, foreach)
