"""The fitting loop's divergence guards (codec.fit.FitConfig.spike_guard, collapse_guard)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from codec.errors import ConfigError, InrvError
from codec.tools.fit import FitConfig, fit


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
    stats = fit(guarded, frames(), config(spike_guard=1.5), torch.device("cpu"))
    assert stats.restarts >= 2  # lr 8 -> 4 -> 2 -> ... until a step no longer overshoots
    assert (guarded.w.item() - 128 / 255) ** 2 < start_loss / 10
    assert (guarded.w.item() - 128 / 255) ** 2 < (unguarded.w.item() - 128 / 255) ** 2


def test_guard_does_not_fire_on_a_healthy_run():
    model = Flat()
    stats = fit(model, frames(), config(lr=1e-2, spike_guard=1.5), torch.device("cpu"))
    assert stats.restarts == 0
    assert (model.w.item() - 128 / 255) ** 2 < (128 / 255) ** 2


def test_with_part_of_the_target_per_step_the_guard_watches_the_running_loss():
    """Batches of 2 of 4 frames: the same overshoot is caught through the running loss."""
    stats = fit(Flat(), torch.full((4, 4, 4, 3), 128, dtype=torch.uint8), config(spike_guard=1.5),
                torch.device("cpu"))
    assert stats.restarts >= 1


def test_partial_batches_of_varied_content_do_not_set_the_guard_off():
    """One frame of four per step, frames 100..160: each step's loss depends on which frame it
    drew (by up to 3x), the running loss falls steadily: no restart."""
    video = torch.stack([torch.full((4, 4, 3), v, dtype=torch.uint8) for v in (100, 160, 120, 140)])
    model = Flat()
    stats = fit(model, video, config(lr=1e-2, batch=1, steps=60, spike_guard=1.5), torch.device("cpu"))
    assert stats.restarts == 0
    assert (model.w.item() - 130 / 255) ** 2 < (130 / 255) ** 2 / 2


def test_non_finite_loss_after_all_restarts_is_one_clear_error():
    class Broken(Flat):
        def render(self, idx, target):
            return super().render(idx, target) * math.inf

    with pytest.raises(InrvError, match="diverged"):
        fit(Broken(), frames(), config(spike_guard=1.5), torch.device("cpu"))


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
    stats = fit(model, frames(), config(lr=1e-2, spike_guard=1.5), torch.device("cpu"))
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
    cfg = config(lr=1e-2, steps=40, lmbda=0.032, spike_guard=1.5, collapse_guard=collapse_guard)
    stats = fit(model, frames(), cfg, torch.device("cpu"))
    if collapse_guard is None:
        assert stats.restarts == 0 and _mse(model) > 0.05
    else:
        assert stats.restarts == 1 and _mse(model) < 0.02


def test_collapse_guard_needs_the_spike_guard():
    with pytest.raises(ConfigError, match="collapse_guard"):
        config(collapse_guard=2.0)
    with pytest.raises(ConfigError, match="collapse_guard"):
        config(spike_guard=1.5, collapse_guard=1.0)
