"""The one training runner: a :class:`codec.tools.phases.Preset`'s phases over a model that gives
its loss for a step (a :class:`Trainee`), with Adam per named parameter group, the learning-rate
schedules, the quantizer mode and frozen groups of each phase, the time budget, the early stops,
a progress bar (the running PSNR and the step's bpp) and the divergence guards (:class:`Guard`).

Each step: the run's progress (by steps, or by time when a time budget is set and that is
further; the run stops at 1), the phase it falls in, the learning rates ``base * guard scale *
schedule factor``, the trainee's loss, the guard's verdict (a dropped step goes back to the
snapshot), then the backward pass, Adam's step and the trainee's ``after_step``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from codec import stopsignals
from codec.errors import ConfigError, InrvError
from codec.tools.phases import Guards, Limits, Phase, Preset


@dataclass(frozen=True)
class StepAt:
    """Where a step falls: its index, the run's progress, the phase and, in a soft phase, the
    temperature."""

    step: int
    progress: float
    phase: Phase
    temperature: float | None = None

    @property
    def mode(self) -> str:
        return self.phase.quantizer.mode


@dataclass(frozen=True)
class StepLoss:
    """One step's loss (a tensor to back-propagate) and its figures as floats: the loss, the MSE
    (for the PSNR shown and the collapse guard), the estimated bpp and, where known, bits."""

    loss: torch.Tensor
    value: float
    mse: float
    bpp: float
    bits: float = math.nan


class Trainee(Protocol):
    """What the runner needs from a model under training."""

    def parameter_groups(self) -> Mapping[str, Sequence[nn.Parameter]]:
        """The parameters by group name (the names the preset's learning rates use), in order."""

    def step(self, at: StepAt) -> StepLoss:
        """The loss of one step (drawing its own batch and noise)."""

    def after_step(self) -> None:
        """After Adam's step (e.g. clamp latents to their range)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class RunResult:
    """What a run did. ``last`` holds the figures of the state kept (the snapshot's when the end
    check restored it); ``last_value`` the loss of the last step computed, dropped or not."""

    steps: int
    seconds: float
    stopped: str
    restarts: int
    restored: bool
    last: StepLoss | None
    last_value: float
    best_psnr: float


def psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else 100.0


def _adam(groups: Mapping[str, Sequence[nn.Parameter]], preset: Preset) -> torch.optim.Adam:
    params = [{"params": list(ps), "name": name} for name, ps in groups.items()]
    first = preset.lr[next(iter(groups))].base
    return torch.optim.Adam(params, lr=first, foreach=preset.foreach)


def _snapshot(model: Trainee, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """A copy of the model's and the optimizer's state to go back to."""
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            copy.deepcopy(opt.state_dict()))


@dataclass
class Running:
    """Running (exponential) means of the loss and the MSE, the lowest of each so far, and the
    steps since the running loss last improved by 0.1%."""

    ema: float | None = None
    mse_ema: float | None = None
    best: float = math.inf
    best_mse: float = math.inf
    since_best: int = 0

    def next(self, loss: float, mse: float) -> tuple[float, float]:
        """The running loss and MSE that a step of ``loss`` and ``mse`` would make."""
        return (loss if self.ema is None else 0.9 * self.ema + 0.1 * loss,
                mse if self.mse_ema is None else 0.9 * self.mse_ema + 0.1 * mse)

    def advance(self, running: float, running_mse: float) -> None:
        """A step was taken with these running figures."""
        self.ema, self.mse_ema = running, running_mse
        self.best_mse = min(self.best_mse, self.mse_ema)
        if self.ema < self.best * (1 - 1e-3):
            self.best, self.since_best = self.ema, 0
        else:
            self.since_best += 1

    def rewind(self) -> None:
        """Back to the best figures, after a restart."""
        self.ema, self.since_best = self.best, 0
        self.mse_ema = self.best_mse if math.isfinite(self.best_mse) else None


class Guard:
    """The divergence guards (:class:`codec.tools.phases.Guards`): a snapshot of model and
    optimizer every ``snapshot_every`` steps while the watched loss is at or below the best, the
    restart from it, and the end check that puts it back when the run ends diverged."""

    def __init__(self, model: Trainee, opt: torch.optim.Optimizer, guards: Guards, whole: bool, desc: str) -> None:
        self.model, self.opt, self.guards, self.whole, self.desc = model, opt, guards, whole, desc
        self.snapshot = _snapshot(model, opt)
        self.figures: StepLoss | None = None  # the snapshot's step
        self.lr_scale, self.restarts, self.diverged = 1.0, 0, False
        self.over = 0  # steps in a row over a threshold

    def restart(self, step: int, now: StepLoss, running: tuple[float, float], stats: Running) -> bool:
        """True when this step is dropped and training goes back to the last snapshot (with the
        optimizer's state of that moment: a fresh Adam's first steps move every weight by the full
        rate and set off the next spike) at ``lr_drop`` times the learning rate."""
        g = self.guards
        # the step's own loss when it sees the whole target; the running loss when it sees part
        # of it (one batch's loss also varies with the batch's content)
        level, mse_level = (now.value, now.mse) if self.whole else running
        collapsed = g.collapse is not None and mse_level > g.collapse * stats.best_mse
        over = level > g.spike * stats.best or collapsed
        self.over = self.over + 1 if over else 0
        self.diverged = not math.isfinite(now.value) or self.over >= g.persist
        if not over and math.isfinite(now.value):
            if step % g.snapshot_every == 0 and level <= stats.best:
                self.snapshot, self.figures = _snapshot(self.model, self.opt), now
            return False
        if not self.diverged:
            return False
        if self.restarts >= g.max_restarts:
            if not math.isfinite(now.value):
                raise InrvError(f"{self.desc}: training diverged (loss {now.value}); "
                                "try a smaller model or a larger --lmbda")
            return False
        self.model.load_state_dict(self.snapshot[0])
        self.opt.load_state_dict(self.snapshot[1])
        self.lr_scale, self.restarts = self.lr_scale * g.lr_drop, self.restarts + 1
        self.diverged, self.over = False, 0  # back at the snapshot
        stats.rewind()
        return True

    def finish(self) -> bool:
        """At the end: True (and the model back at the snapshot) when the last step checked would
        have set a guard off but the restarts were spent, or when the run ends over a threshold
        before it has stayed there ``persist`` steps: the best state is kept, not the wreck."""
        if not (self.diverged or self.over):
            return False
        self.model.load_state_dict(self.snapshot[0])
        return True


class _Clock:
    """Which phase a step falls in, and how far into it."""

    def __init__(self, preset: Preset) -> None:
        self.phases, self.spans = preset.phases, preset.spans()
        self.index, self.first_step, self.first_time = 0, 0, 0.0

    def _over(self, step: int, progress: float, now: float) -> bool:
        phase, span = self.phases[self.index], self.spans[self.index]
        if span is not None:
            return progress >= span[1]
        return ((phase.steps is not None and step - self.first_step >= phase.steps)
                or (phase.seconds is not None and now - self.first_time >= phase.seconds))

    def at(self, step: int, progress: float, now: float) -> tuple[bool, float, float | None]:
        """``(entered a new phase, progress into the phase, temperature)`` for this step."""
        moved = False
        while self.index < len(self.phases) - 1 and self._over(step, progress, now):
            self.index, self.first_step, self.first_time, moved = self.index + 1, step, now, True
        phase, span = self.phases[self.index], self.spans[self.index]
        if span is not None:
            begin, length = span[0], span[1] - span[0]
            local = min(1.0, (progress - begin) / length) if length > 0 else 1.0
            return moved, local, phase.quantizer.temperature_at(progress, begin, length) if length > 0 else None
        local = 0.0
        if phase.steps is not None:
            local = (step - self.first_step) / phase.steps
        if phase.seconds is not None:
            local = max(local, (now - self.first_time) / phase.seconds)
        local = min(local, 1.0)
        return moved, local, phase.quantizer.temperature_at(local, 0.0, 1.0)


class _Freezer:
    """Frozen groups: ``requires_grad`` off for a phase's frozen groups (Adam skips parameters
    without a gradient: neither they nor their moments move), back as it was after the run.
    Groups no phase freezes are never touched (a model may keep parameters fixed itself)."""

    def __init__(self, groups: Mapping[str, Sequence[nn.Parameter]], preset: Preset) -> None:
        touched = set().union(*(p.frozen for p in preset.phases))
        self.groups = {name: list(groups[name]) for name in touched}
        self.saved = {name: [p.requires_grad for p in ps] for name, ps in self.groups.items()}

    def apply(self, phase: Phase) -> None:
        for name, ps in self.groups.items():
            for p, was in zip(ps, self.saved[name]):
                p.requires_grad_(False if name in phase.frozen else was)

    def restore(self) -> None:
        for name, ps in self.groups.items():
            for p, was in zip(ps, self.saved[name]):
                p.requires_grad_(was)


def _early_stop(limits: Limits, step: int, stats: Running) -> str | None:
    """Why training stops after ``step`` steps short of ``limits.steps`` (None: it goes on)."""
    if step < limits.min_steps:
        return None
    if limits.patience is not None and stats.since_best >= limits.patience:
        return "plateau"
    if limits.target_psnr is not None and psnr(stats.mse_ema) >= limits.target_psnr:
        return "target"
    return None


def run(trainee: Trainee, preset: Preset, limits: Limits, *, whole: bool, desc: str = "train",
        progress: bool = True) -> RunResult:
    """Train ``trainee`` through ``preset``'s phases within ``limits``. ``whole``: every step
    sees the whole target and its loss is a function of the state alone (the guards then watch
    each step's loss, else the running loss)."""
    groups = trainee.parameter_groups()
    missing = set(preset.lr) ^ set(groups)
    if missing:
        raise ConfigError(f"{desc}: the preset's parameter groups and the model's differ: {sorted(missing)}")
    opt = _adam(groups, preset)
    guard = Guard(trainee, opt, preset.guards, whole, desc) if preset.guards is not None else None
    clock, freezer = _Clock(preset), _Freezer(groups, preset)
    freezer.apply(preset.phases[0])
    stats, last, last_value = Running(), None, 0.0
    start = time.perf_counter()
    stopped, step = "steps", 0
    try:
        with tqdm(total=limits.steps, desc=desc, disable=not progress, leave=False, unit="step") as bar:
            while step < limits.steps:
                stopsignals.check()  # a stop signal whose exception a library swallowed ends training here
                now_t = time.perf_counter() - start
                done = step / limits.steps
                if limits.time_budget:
                    done = max(done, now_t / limits.time_budget)
                if done >= 1.0:
                    stopped = "time"
                    break
                moved, local, temperature = clock.at(step, done, now_t)
                phase = preset.phases[clock.index]
                if moved:
                    freezer.apply(phase)
                scale = guard.lr_scale if guard is not None else 1.0
                for group in opt.param_groups:
                    rate = preset.rate(phase, group["name"])
                    group["lr"] = rate.base * scale * rate.schedule.factor(done, local)
                now = trainee.step(StepAt(step, done, phase, temperature))
                last_value = now.value  # also a dropped step's
                running = stats.next(now.value, now.mse)
                if guard is not None and guard.restart(step, now, running, stats):
                    step += 1
                    continue
                opt.zero_grad(set_to_none=True)
                now.loss.backward()
                opt.step()
                trainee.after_step()
                step, last = step + 1, now
                stats.advance(*running)
                bar.update(1)
                if step % 10 == 0 or step == limits.steps:
                    bar.set_postfix(loss=f"{now.value:.2e}", psnr=f"{psnr(stats.mse_ema):.2f}",
                                    bpp=f"{now.bpp:.4f}", refresh=False)
                stopped = _early_stop(limits, step, stats) or stopped
                if stopped != "steps":
                    break
    finally:
        freezer.restore()
    restored = guard is not None and guard.finish()
    if restored:
        last = guard.figures
    return RunResult(steps=step, seconds=time.perf_counter() - start, stopped=stopped,
                     restarts=guard.restarts if guard is not None else 0, restored=restored, last=last,
                     last_value=last_value, best_psnr=psnr(stats.best_mse))
