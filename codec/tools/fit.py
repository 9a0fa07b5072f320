"""The fitting loop shared by every family that fits a network (NeRV, HNeRV, each NIRVANA group).

Adam with linear warm-up and cosine decay (the schedule of NeRV, Chen et al. 2021), loss =
distortion + lambda * estimated bpp. Training stops at ``steps``, at ``time_budget`` seconds, or,
when ``patience`` is set, once the loss has not improved for that many steps (or ``target_psnr``
is reached by the running mean of the batches' MSE): easy content finishes early.

With ``spike_guard`` set, a loss that is not finite or exceeds ``spike_guard`` times the best
running loss is taken for divergence (the step's own loss when every step trains on the whole
target; the running loss itself when steps train on parts of it, whose losses also vary with
the batch's content): the model and the optimizer go back to their last good snapshot and
training goes on at half the learning rate (at most :data:`MAX_RESTARTS` times). Fast learning rates
for SIREN-style stems sit close to that edge. ``collapse_guard`` adds a slower failure to the same
remedy: the running MSE (the step's own with whole batches) more than ``collapse_guard`` times the
lowest it has been. There the rate term and a fast rate have wrecked the weights together (the
distortion jumps while the bits fall, so the loss itself rises less than ``spike_guard`` allows);
measured on NIRVANA's first group of bikes at preset m, lambda 3e-2: 23.6 dB at step 57, 15.4 dB
at step 100, 21 dB after 400 steps, where half the rate from the start gives 30 dB.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim
from tqdm.auto import tqdm

from codec.device import autocast
from codec.errors import ConfigError, InrvError
from codec.tools.fitoptions import LOSSES

#: Weight of the spectrum term of the ``l1-ssim-fft`` loss (see :func:`spectrum_l1`).
SPECTRUM_WEIGHT = 1.0
MAX_RESTARTS = 4
SNAPSHOT_EVERY = 10


class Fittable(Protocol):
    """What the loop needs from a model under training."""

    def render(self, idx: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Samples ``idx`` (B,C,H,W) in [0, 1], computed with the quantized parameters: shaped
        like ``frames`` (the samples' targets, channel-first; any memory layout), which some
        families (HNeRV) also encode."""

    def rate_bits(self, noise: bool) -> torch.Tensor:
        """Estimated bits of everything the stream will hold for this model."""

    def named_parameters(self): ...


@dataclass(frozen=True)
class FitConfig:
    steps: int = 1000
    time_budget: float | None = None
    lr: float = 1e-3
    warmup: float = 0.1
    hard_round_tail: float = 0.1
    batch: int = 2
    loss: str = "mse"
    lmbda: float = 3.5e-3
    step_lr_mult: float = 10.0
    entropy_lr_mult: float = 10.0
    seed: int = 0
    patience: int | None = None
    target_psnr: float | None = None
    min_steps: int = 0
    spike_guard: float | None = None
    collapse_guard: float | None = None
    progress: bool = True
    desc: str = "fit"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        if self.steps < 1 or self.batch < 1:
            raise ConfigError("steps and batch must be >= 1")
        if self.collapse_guard is not None and (self.spike_guard is None or self.collapse_guard <= 1):
            raise ConfigError("collapse_guard needs spike_guard (it restarts the same way) and must exceed 1")


@dataclass(frozen=True)
class FitStats:
    """What a fit did. ``psnr`` and ``estimated_bpp`` are training-time estimates."""

    steps: int
    seconds: float
    loss: float
    psnr: float
    estimated_bits: float
    estimated_bpp: float
    frame_steps_per_second: float
    stopped: str
    restarts: int = 0


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up to 1 over ``warmup`` of the run, then cosine decay to 1% of it."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return 0.1 + 0.9 * progress / warmup
    rest = (progress - warmup) / max(1e-9, 1.0 - warmup)
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * rest))


def distortion(pred: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """The distortion named ``loss`` (:data:`LOSSES`): ``mse``; ``l1-ssim``: ``0.7 L1 + 0.3 (1 -
    SSIM)``; ``l1-ssim-fft``: Boosting-NeRV's high-frequency loss (Zhang et al., "Boosting Neural
    Representations for Videos with a Conditional Decoder", CVPR 2024), ``0.7 L1 + 0.3 (1 -
    MS-SSIM)`` (:func:`multiscale_ssim`) plus :data:`SPECTRUM_WEIGHT` times :func:`spectrum_l1`."""
    if loss == "mse":
        return F.mse_loss(pred, target)  # fused: a third of the time of mean((p - t) ** 2) on CPUs
    l1 = torch.mean(torch.abs(pred - target))
    if loss == "l1-ssim":
        return 0.7 * l1 + 0.3 * (1.0 - ssim(pred, target, data_range=1.0, size_average=True))
    return (0.7 * l1 + 0.3 * (1.0 - multiscale_ssim(pred, target))
            + SPECTRUM_WEIGHT * spectrum_l1(pred, target))


def multiscale_ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MS-SSIM over pytorch_msssim's five scales, with the largest odd Gaussian window up to its
    default 11 that they allow: the frame's smaller side must exceed ``(window - 1) * 16``, so 11
    from 161 pixels up, 9 at 176x144. Frames too small for five scales even with a 3-pixel window
    (a side under 33 pixels) fall back to single-scale SSIM (window up to 11, at most the side)."""
    side = min(pred.shape[-2:])
    window = min(11, (side - 1) // 16 + 1)
    window -= 1 - window % 2
    if window >= 3:
        return ms_ssim(pred, target, data_range=1.0, size_average=True, win_size=window)
    window = max(1, min(11, side - 1 + side % 2))
    return ssim(pred, target, data_range=1.0, size_average=True, win_size=window)


def spectrum_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the real and imaginary parts of the frames' 2-D FFTs
    (``torch.fft.rfft2``, per channel), orthonormal: by Parseval the spectrum has the frame's
    energy, so the term does not grow with the frame size, and its scale is that of a pixel L1.
    On carphone at 24 to 32 dB (blurred, noisy or shifted frames) it is 0.6 to 1.1 times ``0.7 L1
    + 0.3 (1 - MS-SSIM)``, hence :data:`SPECTRUM_WEIGHT` 1: the spectrum counts about as much as
    the rest, which is where the high frequencies that the pixel terms underweight show."""
    diff = torch.fft.rfft2(pred - target, norm="ortho")  # linear: the spectra's difference
    return torch.view_as_real(diff).abs().mean()


def param_groups(model: torch.nn.Module, cfg: FitConfig) -> list[dict]:
    """Quantization step sizes and entropy models learn faster than weights: a step has to move
    by orders of magnitude while rate and distortion settle, and the density must follow it."""
    groups: dict[str, list] = {"weights": [], "steps": [], "entropy": []}
    for name, p in model.named_parameters():
        if name.endswith("log_step"):
            groups["steps"].append(p)
        elif ".entropy." in f".{name}":
            groups["entropy"].append(p)
        else:
            groups["weights"].append(p)
    return [
        {"params": groups["weights"], "base_lr": cfg.lr},
        {"params": groups["steps"], "base_lr": cfg.lr * cfg.step_lr_mult},
        {"params": groups["entropy"], "base_lr": cfg.lr * cfg.entropy_lr_mult},
    ]


def _adam(model: torch.nn.Module, cfg: FitConfig) -> torch.optim.Adam:
    return torch.optim.Adam(param_groups(model, cfg), lr=cfg.lr, foreach=True)


def _snapshot(model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """A copy of the model's and the optimizer's state to go back to after a divergence."""
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            copy.deepcopy(opt.state_dict()))


def frames_to_tensor(frames_u8: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(B,H,W,3) uint8 -> (B,3,H,W) float in [0, 1] on ``device``."""
    return frames_u8.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)


@dataclass
class _Running:
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


class _Guard:
    """The divergence guards (module docstring): a snapshot of model and optimizer every
    :data:`SNAPSHOT_EVERY` steps while the loss is good, and the restart from it."""

    def __init__(self, model: torch.nn.Module, opt: torch.optim.Optimizer, cfg: FitConfig, whole: bool) -> None:
        self.model, self.opt, self.cfg, self.whole = model, opt, cfg, whole
        self.snapshot = _snapshot(model, opt)
        self.lr_scale, self.restarts = 1.0, 0

    def restart(self, step: int, loss: float, mse: float, running: tuple[float, float], stats: _Running) -> bool:
        """True when this step is dropped and training goes back to the last snapshot (with the
        optimizer's state of that moment: a fresh Adam's first steps move every weight by the full
        rate and set off the next spike) at half the learning rate."""
        cfg = self.cfg
        # the step's own loss when it sees the whole target; the running loss when it sees part
        # of it (one batch's loss also varies with the batch's content)
        level, mse_level = (loss, mse) if self.whole else running
        collapsed = cfg.collapse_guard is not None and mse_level > cfg.collapse_guard * stats.best_mse
        if not (not math.isfinite(loss) or level > cfg.spike_guard * stats.best or collapsed):
            if step % SNAPSHOT_EVERY == 0 and level <= stats.best:
                self.snapshot = _snapshot(self.model, self.opt)
            return False
        if self.restarts >= MAX_RESTARTS:
            if not math.isfinite(loss):
                raise InrvError(f"{cfg.desc}: training diverged (loss {loss}); "
                                "try a smaller model or a larger --lmbda")
            return False
        self.model.load_state_dict(self.snapshot[0])
        self.opt.load_state_dict(self.snapshot[1])
        self.lr_scale, self.restarts = self.lr_scale * 0.5, self.restarts + 1
        stats.rewind()
        return True


@dataclass(frozen=True)
class _Step:
    """One step's loss (a tensor to back-propagate), and its figures as floats."""

    loss: torch.Tensor
    loss_v: float
    mse: float
    bits: float


def _step(model: Fittable, frames: torch.Tensor, idx: torch.Tensor, cfg: FitConfig, pixels: int,
          noise: bool, device: torch.device) -> _Step:
    """The rate-distortion loss of the batch ``idx``."""
    target = frames_to_tensor(frames[idx], device)
    with autocast(device):
        pred = model.render(idx.to(device), target)
    d = distortion(pred.float(), target, cfg.loss)
    bits = model.rate_bits(noise)
    loss = d + cfg.lmbda * bits / pixels
    loss_v = float(loss.detach())
    # the batch's MSE as decoded; with the MSE loss, the distortion itself (every family's output,
    # a sigmoid, lies in [0, 1]: the decoder's clamp changes nothing) instead of another pass
    # over the batch (bikes' group 0: 4.5 of a step's 127 ms)
    if cfg.loss == "mse":
        mse = float(d.detach())
    else:
        mse = float(F.mse_loss(pred.detach().float().clamp(0, 1), target))
    return _Step(loss, loss_v, mse, float(bits.detach()))


def _progress(cfg: FitConfig, step: int, elapsed: float) -> float:
    """How far training is, 0..1: by steps, or by time when that is further."""
    progress = step / cfg.steps
    if cfg.time_budget:
        progress = max(progress, elapsed / cfg.time_budget)
    return progress


def _early_stop(cfg: FitConfig, step: int, stats: _Running) -> str | None:
    """Why training stops after ``step`` steps short of ``cfg.steps`` (None: it goes on)."""
    if step < cfg.min_steps:
        return None
    if cfg.patience is not None and stats.since_best >= cfg.patience:
        return "plateau"
    if cfg.target_psnr is not None and _psnr(stats.mse_ema) >= cfg.target_psnr:
        return "target"
    return None


def fit(
    model: Fittable,
    frames: torch.Tensor,
    cfg: FitConfig,
    device: torch.device,
) -> FitStats:
    """Train ``model`` on ``frames`` (N,H,W,C uint8, CPU; C = 3, or 3 per frame when a sample
    holds several frames) with the rate-distortion loss."""
    n = frames.shape[0]
    pixels = frames.numel() // 3  # RGB pixels: a sample may hold several frames as channels
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = _adam(model, cfg)
    batch = min(cfg.batch, n)
    guard = _Guard(model, opt, cfg, whole=batch == n) if cfg.spike_guard is not None else None
    stats, last, last_loss = _Running(), _Step(torch.zeros(()), 0.0, 0.0, 0.0), 0.0
    start = time.perf_counter()
    stopped, step = "steps", 0
    with tqdm(total=cfg.steps, desc=cfg.desc, disable=not cfg.progress, leave=False, unit="step") as bar:
        while step < cfg.steps:
            progress = _progress(cfg, step, time.perf_counter() - start)
            if progress >= 1.0:
                stopped = "time"
                break
            lr_scale = guard.lr_scale if guard is not None else 1.0
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * lr_scale * lr_factor(progress, cfg.warmup)
            idx = torch.randperm(n, generator=gen)[:batch]
            now = _step(model, frames, idx, cfg, pixels, progress < 1.0 - cfg.hard_round_tail, device)
            last_loss = now.loss_v  # also a dropped step's
            running = stats.next(now.loss_v, now.mse)
            if guard is not None and guard.restart(step, now.loss_v, now.mse, running, stats):
                step += 1
                continue
            opt.zero_grad(set_to_none=True)
            now.loss.backward()
            opt.step()
            step, last = step + 1, now
            stats.advance(*running)
            bar.update(1)
            if step % 10 == 0 or step == cfg.steps:
                bar.set_postfix(loss=f"{now.loss_v:.2e}", psnr=f"{_psnr(now.mse):.2f}", bpp=f"{now.bits / pixels:.4f}")
            stopped = _early_stop(cfg, step, stats) or stopped
            if stopped != "steps":
                break
    seconds = time.perf_counter() - start
    return FitStats(
        steps=step,
        seconds=seconds,
        loss=last_loss,
        psnr=_psnr(last.mse),
        estimated_bits=last.bits,
        estimated_bpp=last.bits / pixels,
        frame_steps_per_second=step * batch / max(seconds, 1e-9),
        stopped=stopped,
        restarts=guard.restarts if guard is not None else 0,
    )


def _psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else 100.0
