"""The fitting loop shared by every per-video family (NeRV, HNeRV, each NIRVANA group).

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
from pytorch_msssim import ssim
from tqdm.auto import tqdm

from codec.device import autocast
from codec.errors import ConfigError, InrvError

LOSSES = ("mse", "l1-ssim")
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
    if loss == "mse":
        return F.mse_loss(pred, target)  # fused: a third of the time of mean((p - t) ** 2) on CPUs
    l1 = torch.mean(torch.abs(pred - target))
    return 0.7 * l1 + 0.3 * (1.0 - ssim(pred, target, data_range=1.0, size_average=True))


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
    lr_scale, restarts = 1.0, 0
    batch = min(cfg.batch, n)
    whole = batch == n
    guard = cfg.spike_guard
    snapshot = _snapshot(model, opt) if guard is not None else None
    start = time.perf_counter()
    best, since_best, ema = math.inf, 0, None
    mse_ema = None  # running MSE for target_psnr: one batch (e.g. of patches) is too noisy
    best_mse = math.inf  # the lowest running MSE so far, for the collapse guard
    stopped = "steps"
    bar = tqdm(total=cfg.steps, desc=cfg.desc, disable=not cfg.progress, leave=False, unit="step")
    step = 0
    loss_v = mse_v = bits_v = 0.0
    while step < cfg.steps:
        elapsed = time.perf_counter() - start
        progress = step / cfg.steps
        if cfg.time_budget:
            progress = max(progress, elapsed / cfg.time_budget)
            if progress >= 1.0:
                stopped = "time"
                break
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * lr_scale * lr_factor(progress, cfg.warmup)
        idx = torch.randperm(n, generator=gen)[:batch]
        target = frames_to_tensor(frames[idx], device)
        noise = progress < 1.0 - cfg.hard_round_tail
        with autocast(device):
            pred = model.render(idx.to(device), target)
        d = distortion(pred.float(), target, cfg.loss)
        bits = model.rate_bits(noise)
        loss = d + cfg.lmbda * bits / pixels
        loss_v = float(loss.detach())
        running = loss_v if ema is None else 0.9 * ema + 0.1 * loss_v
        # the batch's MSE as decoded; with the MSE loss, the distortion itself (every family's output,
        # a sigmoid, lies in [0, 1]: the decoder's clamp changes nothing) instead of another pass
        # over the batch (bikes' group 0: 4.5 of a step's 127 ms)
        if cfg.loss == "mse":
            batch_mse = float(d.detach())
        else:
            batch_mse = float(F.mse_loss(pred.detach().float().clamp(0, 1), target))
        running_mse = batch_mse if mse_ema is None else 0.9 * mse_ema + 0.1 * batch_mse
        if guard is not None:
            # the step's own loss when it sees the whole target; the running loss when it sees part
            # of it (one batch's loss also varies with the batch's content)
            level, mse_level = (loss_v, batch_mse) if whole else (running, running_mse)
            collapsed = cfg.collapse_guard is not None and mse_level > cfg.collapse_guard * best_mse
            if not math.isfinite(loss_v) or level > guard * best or collapsed:
                if restarts >= MAX_RESTARTS:
                    if not math.isfinite(loss_v):
                        raise InrvError(f"{cfg.desc}: training diverged (loss {loss_v}); "
                                        "try a smaller model or a larger --lmbda")
                else:
                    # back to the last parameters whose loss was good, with the optimizer's state
                    # of that moment (a fresh Adam's first steps move every weight by the full
                    # rate and set off the next spike), at half the rate
                    model.load_state_dict(snapshot[0])
                    opt.load_state_dict(snapshot[1])
                    lr_scale, restarts = lr_scale * 0.5, restarts + 1
                    ema, since_best = best, 0
                    mse_ema = best_mse if math.isfinite(best_mse) else None
                    step += 1
                    continue
            elif step % SNAPSHOT_EVERY == 0 and level <= best:
                snapshot = _snapshot(model, opt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        bits_v, mse_v = float(bits.detach()), batch_mse
        ema = running
        mse_ema = running_mse
        best_mse = min(best_mse, mse_ema)
        if ema < best * (1 - 1e-3):
            best, since_best = ema, 0
        else:
            since_best += 1
        bar.update(1)
        if step % 10 == 0 or step == cfg.steps:
            bar.set_postfix(loss=f"{loss_v:.2e}", psnr=f"{_psnr(mse_v):.2f}", bpp=f"{bits_v / pixels:.4f}")
        if step >= cfg.min_steps:
            if cfg.patience is not None and since_best >= cfg.patience:
                stopped = "plateau"
                break
            if cfg.target_psnr is not None and _psnr(mse_ema) >= cfg.target_psnr:
                stopped = "target"
                break
    bar.close()
    seconds = time.perf_counter() - start
    return FitStats(
        steps=step,
        seconds=seconds,
        loss=loss_v,
        psnr=_psnr(mse_v),
        estimated_bits=bits_v,
        estimated_bpp=bits_v / pixels,
        frame_steps_per_second=step * batch / max(seconds, 1e-9),
        stopped=stopped,
        restarts=restarts,
    )


def _psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else 100.0
