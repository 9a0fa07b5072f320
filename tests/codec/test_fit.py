"""Training: the fitting loop and its divergence guards (codec.tools.fit), phases and presets
(codec.tools.phases), the one runner (codec.tools.runner), and a forced collapse end to end."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from codec.errors import ConfigError, InrvError
from codec.tools.fit import FitConfig, fit
from codec.tools.phases import Guards, Limits, Phase, Preset, Quantizer, Rate, Schedule, lr_factor
from codec.tools.runner import StepAt, StepLoss, run


class Flat(nn.Module):
    """Every pixel is one learned value: loss = (w - target)^2, so a huge Adam step overshoots."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.w.expand_as(target)

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.w.new_zeros(())


def frames(value: int = 128) -> torch.Tensor:
    return torch.full((2, 4, 4, 3), value, dtype=torch.uint8)


def config(**kw) -> FitConfig:
    base = dict(steps=40, lr=8.0, warmup=0.0, batch=2, lmbda=0.0, progress=False)
    return FitConfig(**{**base, **kw})


def test_guard_restarts_at_a_lower_rate_and_ends_below_the_start():
    start_loss = (128 / 255) ** 2
    unguarded = Flat()
    fit(unguarded, frames(), config(), torch.device("cpu"))
    guarded = Flat()
    stats = fit(guarded, frames(), config(guards=Guards(spike=1.5, collapse=None)), torch.device("cpu"))
    assert stats.restarts >= 2  # lr 8 -> 4 -> 2 -> ... until a step no longer overshoots
    assert (guarded.w.item() - 128 / 255) ** 2 < start_loss / 10
    assert (guarded.w.item() - 128 / 255) ** 2 < (unguarded.w.item() - 128 / 255) ** 2


def test_guard_does_not_fire_on_a_healthy_run():
    model = Flat()
    stats = fit(model, frames(), config(lr=1e-2, guards=Guards(spike=1.5, collapse=None)), torch.device("cpu"))
    assert stats.restarts == 0
    assert (model.w.item() - 128 / 255) ** 2 < (128 / 255) ** 2


def test_with_part_of_the_target_per_step_the_guard_watches_the_running_loss():
    """Batches of 2 of 4 frames: the same overshoot is caught through the running loss."""
    stats = fit(Flat(), torch.full((4, 4, 4, 3), 128, dtype=torch.uint8), config(guards=Guards(spike=1.5, collapse=None)),
                torch.device("cpu"))
    assert stats.restarts >= 1


def test_partial_batches_of_varied_content_do_not_set_the_guard_off():
    """One frame of four per step, frames 100..160: each step's loss depends on which frame it
    drew (by up to 3x), the running loss falls steadily: no restart."""
    video = torch.stack([torch.full((4, 4, 3), v, dtype=torch.uint8) for v in (100, 160, 120, 140)])
    model = Flat()
    stats = fit(model, video, config(lr=1e-2, batch=1, steps=60, guards=Guards(spike=1.5, collapse=None)), torch.device("cpu"))
    assert stats.restarts == 0
    assert (model.w.item() - 130 / 255) ** 2 < (130 / 255) ** 2 / 2


def test_non_finite_loss_after_all_restarts_is_one_clear_error():
    class Broken(Flat):
        def render(self, idx, target):
            return super().render(idx, target) * math.inf

    with pytest.raises(InrvError, match="diverged"):
        fit(Broken(), frames(), config(guards=Guards(spike=1.5, collapse=None)), torch.device("cpu"))


def test_a_restart_goes_back_to_the_optimizer_state_of_the_snapshot(monkeypatch):
    """One bump of the loss costs one restart; the optimizer is restored, not rebuilt (a fresh
    Adam's first steps move every weight by the full rate and set off the next spike)."""
    import codec.tools.runner as runner_module

    class Bump(Flat):
        calls = 0

        def render(self, idx, target):
            Bump.calls += 1
            out = super().render(idx, target)
            return out + 5.0 if Bump.calls == 25 else out  # one bad step after the snapshot at 20

    built: list[int] = []
    real = runner_module._adam
    monkeypatch.setattr(runner_module, "_adam", lambda groups, preset: built.append(1) or real(groups, preset))
    model = Bump()
    stats = fit(model, frames(), config(lr=1e-2, guards=Guards(spike=1.5, collapse=None)), torch.device("cpu"))
    assert stats.restarts == 1
    assert len(built) == 1  # the one optimizer of the run, its state reloaded at the restart
    assert (model.w.item() - 128 / 255) ** 2 < (128 / 255) ** 2 / 2


class Wrecked(nn.Module):
    """A learned image under a large constant rate term (1.0 of the loss, 32 pixels at lambda
    0.032); at render call ``wreck_at`` its values become 0 and 1 (the weights wrecked): the MSE
    jumps to 0.25, the loss by 25%."""

    def __init__(self, wreck_at: int) -> None:
        super().__init__()
        self.img = nn.Parameter(torch.full((2, 3, 4, 4), 0.3))
        self.calls, self.wreck_at = 0, wreck_at

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.wreck_at:
            with torch.no_grad():
                self.img.copy_((torch.arange(48) % 2).float().view(1, 3, 4, 4).expand_as(self.img))
        return self.img[idx]

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.img.new_full((), 1000.0)  # no gradient; with lambda 0.032, 1.0 of the loss


def _mse(model: Wrecked) -> float:
    return float(torch.mean((model.img.detach() - 128 / 255) ** 2))


@pytest.mark.parametrize("collapse_guard", [None, 2.0])
def test_collapse_guard_catches_wrecked_weights_the_loss_barely_shows(collapse_guard):
    """The spike guard alone sees the loss rise by 25% and goes on from the wreck; with the collapse
    guard the run goes back to the snapshot before it and ends near the target."""
    model = Wrecked(wreck_at=25)
    cfg = config(lr=1e-2, steps=40, lmbda=0.032, guards=Guards(spike=1.5, collapse=collapse_guard))
    stats = fit(model, frames(), cfg, torch.device("cpu"))
    if collapse_guard is None:
        assert stats.restarts == 0 and _mse(model) > 0.05
    else:
        assert stats.restarts == 1 and _mse(model) < 0.02


def test_the_guards_check_their_settings():
    with pytest.raises(ConfigError, match="factors"):
        Guards(collapse=1.0)
    with pytest.raises(ConfigError, match="persist"):
        Guards(persist=0)


def test_the_guards_wait_persist_steps_in_a_row():
    """The wreck at step 25 of 40 stays: with persist 1 or 5 the run restarts once, from the
    snapshot before it; with persist 20, longer than what is left of the run, it never restarts,
    and the end check puts the best snapshot back (the run ends over a threshold)."""
    for persist, restarts in ((1, 1), (5, 1), (20, 0)):
        model = Wrecked(wreck_at=25)
        cfg = config(lr=1e-2, steps=40, lmbda=0.032, guards=Guards(spike=1.5, collapse=2.0, persist=persist))
        stats = fit(model, frames(), cfg, torch.device("cpu"))
        assert (stats.restarts, stats.restored) == (restarts, restarts == 0), persist
        assert _mse(model) < 0.02, persist


def test_a_forced_collapse_writes_the_best_state_not_the_wreck(tmp_path, carphone_y4m, monkeypatch):
    """hnerv on 6 real frames trains normally for 40 steps, then every Adam step runs at a hundred
    times the learning rate (the wreck of issue 33: the output saturates, about 11.7 dB). The file
    written must be the best state's: decoded within 1 dB of the best batch PSNR training saw,
    far above the wreck; or no file at all (the final check refusing it)."""
    import codec
    import codec.errors
    import codec.tools.fit as fit_module
    from codec.config import EncodeConfig

    torch.set_num_threads(1)
    calls, real_step = [0], torch.optim.Adam.step

    def too_fast(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] <= 40:
            return real_step(self, *args, **kwargs)
        saved = [g["lr"] for g in self.param_groups]
        for g in self.param_groups:
            g["lr"] *= 100.0
        try:
            return real_step(self, *args, **kwargs)
        finally:
            for g, lr in zip(self.param_groups, saved):
                g["lr"] = lr

    seen: list[float] = []
    real_distortion = fit_module.distortion

    def spy(pred, target, loss):
        d = real_distortion(pred, target, loss)
        seen.append(float(d.detach()))
        return d

    monkeypatch.setattr(torch.optim.Adam, "step", too_fast)
    monkeypatch.setattr(fit_module, "distortion", spy)
    out = tmp_path / "x.inrv"
    cfg = EncodeConfig.of(model="hnerv", quality=6, steps=80, device="cpu", threads=1, progress=False)
    try:
        result = codec.encode(carphone_y4m, out, cfg)
    except getattr(codec.errors, "EncodeRejected", ()):
        assert not out.exists()
        return
    best = max(10 * math.log10(1 / m) for m in seen)
    assert best > 16.0  # training got somewhere before the wreck
    assert result.psnr_rgb > best - 1.0, f"file {result.psnr_rgb:.2f} dB, best in training {best:.2f} dB"
    assert result.restored  # the end check's restore reaches the result (the ladder audit records it)


# --- phases and the runner (codec.tools.phases, codec.tools.runner) ---------------------------


class Pair:
    """Two scalars ``a`` and ``b`` pulled towards 1 (loss (a-1)^2 + (b-1)^2), recording where each
    step fell and the learning rates Adam ran at."""

    def __init__(self, wreck_at: int | None = None) -> None:
        self.a, self.b = nn.Parameter(torch.zeros(())), nn.Parameter(torch.zeros(()))
        self.seen: list[StepAt] = []
        self.lrs: list[list[float]] = []
        self.opt = None
        self.wreck_at = wreck_at

    def parameter_groups(self):
        return {"a": [self.a], "b": [self.b]}

    def step(self, at: StepAt) -> StepLoss:
        self.seen.append(at)
        if self.wreck_at is not None and at.step >= self.wreck_at:
            with torch.no_grad():
                self.a.fill_(-30.0)  # wrecked for good: every later step is far worse than the best
        loss = (self.a - 1) ** 2 + (self.b - 1) ** 2
        v = float(loss.detach())
        return StepLoss(loss, v, v, 0.0)

    def after_step(self) -> None:
        pass

    def state_dict(self):
        return {"a": self.a, "b": self.b}

    def load_state_dict(self, state):
        with torch.no_grad():
            self.a.copy_(state["a"])
            self.b.copy_(state["b"])


def _lrs(monkeypatch, pair: Pair) -> None:
    real = torch.optim.Adam.step

    def step(opt, *a, **k):
        pair.lrs.append([g["lr"] for g in opt.param_groups])
        return real(opt, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", step)


def test_schedules_per_group_over_the_run_and_over_a_phase(monkeypatch):
    pair = Pair()
    _lrs(monkeypatch, pair)
    preset = Preset((Phase("one", share=0.5), Phase("two", lr={"b": Rate(0.2, Schedule("cosine", 0.0, over="phase"))})),
                    {"a": Rate(0.1, Schedule("cosine", 0.25)), "b": Rate(0.3, Schedule("constant"))}, guards=None)
    run(pair, preset, Limits(8), whole=True, progress=False)
    for s, (lr_a, lr_b) in enumerate(pair.lrs):
        assert lr_a == 0.1 * 1.0 * lr_factor(s / 8, 0.25)
        assert lr_b == (0.3 if s < 4 else 0.2 * lr_factor((s / 8 - 0.5) / 0.5, 0.0))


def test_quantizer_modes_and_the_temperature_schedule():
    pair = Pair()
    preset = Preset((Phase("soft", Quantizer("soft", (0.3, 0.1))), Phase("hard", Quantizer("hard"), share=0.25)),
                    {"a": Rate(0.01), "b": Rate(0.01)}, guards=None)
    run(pair, preset, Limits(8), whole=True, progress=False)
    assert [at.mode for at in pair.seen] == ["soft"] * 6 + ["hard"] * 2
    for at in pair.seen[:6]:
        assert at.temperature == 0.3 + (0.1 - 0.3) * (at.step / 8) / 0.75
    assert pair.seen[0].temperature == 0.3 and pair.seen[6].temperature is None


def test_phases_of_steps_and_frozen_groups():
    """The first 3 steps freeze ``b`` (it stays at 0, Adam keeps no state for it), then both
    move; afterwards ``requires_grad`` is as it was."""
    pair = Pair()
    preset = Preset((Phase("a only", Quantizer("hard"), steps=3, frozen=frozenset({"b"})),
                     Phase("both", Quantizer("hard"))),
                    {"a": Rate(0.1, Schedule("constant")), "b": Rate(0.1, Schedule("constant"))}, guards=None)
    b_values = []
    real = pair.step
    pair.step = lambda at: (b_values.append(float(pair.b.detach())), real(at))[1]
    run(pair, preset, Limits(6), whole=True, progress=False)
    assert [at.phase.name for at in pair.seen] == ["a only"] * 3 + ["both"] * 3
    assert b_values[:4] == [0.0] * 4 and b_values[5] > 0.0
    assert float(pair.a.detach()) > 0.0 and pair.b.requires_grad


def test_a_run_that_ends_diverged_ends_on_the_best_snapshot():
    """Restarts spent (none allowed), the state wrecked from step 25 on: the run keeps the snapshot
    (taken at step 20, near the best), not the wreck; a healthy run keeps its own last state."""
    preset = Preset((Phase("hard", Quantizer("hard")),), {"a": Rate(0.05, Schedule("constant")),
                                                         "b": Rate(0.05, Schedule("constant"))},
                    guards=Guards(spike=1.5, collapse=2.0, max_restarts=0))
    wrecked = Pair(wreck_at=25)
    result = run(wrecked, preset, Limits(40), whole=True, progress=False)
    assert result.restored and result.restarts == 0
    assert float(wrecked.a.detach()) > 0.5
    assert result.last.value < 1.0  # the snapshot's figures, not the wreck's
    healthy = Pair()
    result = run(healthy, preset, Limits(40), whole=True, progress=False)
    assert not result.restored and float(healthy.a.detach()) > 0.9
