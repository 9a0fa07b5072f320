"""Fitting a whole network (NeRV, HNeRV, each NIRVANA group) with the rate-distortion loss:
distortion + lambda * estimated bpp, through the one training runner (:mod:`codec.tools.runner`)
with the plan a :class:`FitConfig` describes (:func:`preset`): Adam with linear warm-up and cosine
decay (the schedule of NeRV, Chen et al. 2021), noise quantization then a hard-rounding tail.
Training stops at ``steps``, at ``time_budget`` seconds, or, when ``patience`` is set, once the
loss has not improved for that many steps (or ``target_psnr`` is reached by the running mean of
the batches' MSE): easy content finishes early.

``guards`` sets the divergence guards (:class:`codec.tools.phases.Guards`): a loss that is not
finite or exceeds ``spike`` times the best running loss (the step's own loss when every step trains
on the whole target; the running loss when steps train on parts of it, whose losses also vary with
the batch's content), or a running MSE more than ``collapse`` times the lowest it has been, for
``persist`` steps in a row, sends model and optimizer back to their last good snapshot at half the
learning rate. Fast learning rates for SIREN-style stems sit close to that edge; in a collapse the
rate term and a fast rate wreck the weights together (the distortion jumps while the bits fall,
so the loss itself rises less than ``spike`` allows): measured on NIRVANA's first group of bikes at
preset m, lambda 3e-2: 23.6 dB at step 57, 15.4 dB at step 100,
21 dB after 400 steps, where half the rate from the start gives 30 dB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim

from codec.device import autocast
from codec.errors import ConfigError
from codec.tools.fitoptions import LOSSES
from codec.tools.phases import Guards, Limits, Preset, Rate, Schedule, quantized_then_hard
from codec.tools.runner import StepAt, StepLoss, run

#: Weight of the spectrum term of the ``l1-ssim-fft`` loss (see :func:`spectrum_l1`).
SPECTRUM_WEIGHT = 1.0


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
    guards: Guards | None = None
    progress: bool = True
    desc: str = "fit"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        if self.steps < 1 or self.batch < 1:
            raise ConfigError("steps and batch must be >= 1")


@dataclass(frozen=True)
class FitStats:
    """What a fit did. ``psnr`` and ``estimated_bpp`` are training-time estimates (of the state
    kept); ``best_psnr`` the best running PSNR training saw; ``restored``: the run ended diverged
    with its restarts spent, and the best snapshot is what was kept."""

    steps: int
    seconds: float
    loss: float
    psnr: float
    estimated_bits: float
    estimated_bpp: float
    frame_steps_per_second: float
    stopped: str
    restarts: int = 0
    best_psnr: float = math.nan
    restored: bool = False


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


def param_groups(model: torch.nn.Module) -> dict[str, list]:
    """The groups of :func:`preset`: quantization step sizes and entropy models apart from the
    weights (they learn faster: a step has to move by orders of magnitude while rate and
    distortion settle, and the density must follow it)."""
    groups: dict[str, list] = {"weights": [], "steps": [], "entropy": []}
    for name, p in model.named_parameters():
        if name.endswith("log_step"):
            groups["steps"].append(p)
        elif ".entropy." in f".{name}":
            groups["entropy"].append(p)
        else:
            groups["weights"].append(p)
    return groups


def preset(cfg: FitConfig) -> Preset:
    """The plan a :class:`FitConfig` describes: noise quantization, then hard rounding for the
    last ``hard_round_tail`` of the run; Adam at ``lr`` for the weights, ``lr * step_lr_mult`` for
    the step sizes and ``lr * entropy_lr_mult`` for the entropy models, warm-up and cosine decay
    over the run; ``guards``."""
    schedule = Schedule("cosine", cfg.warmup)
    lr = {"weights": Rate(cfg.lr, schedule), "steps": Rate(cfg.lr * cfg.step_lr_mult, schedule),
          "entropy": Rate(cfg.lr * cfg.entropy_lr_mult, schedule)}
    return quantized_then_hard(lr, cfg.hard_round_tail, "noise", guards=cfg.guards, foreach=True)


def frames_to_tensor(frames_u8: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(B,H,W,3) uint8 -> (B,3,H,W) float in [0, 1] on ``device``."""
    return frames_u8.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)


class _FitTrainee:
    """A :class:`Fittable` on its frames as the runner's :class:`codec.tools.runner.Trainee`:
    each step draws ``batch`` samples (``torch.randperm`` with the fit's own generator)."""

    def __init__(self, model: Fittable, frames: torch.Tensor, cfg: FitConfig, device: torch.device) -> None:
        self.model, self.frames, self.cfg, self.device = model, frames, cfg, device
        self.n = frames.shape[0]
        self.pixels = frames.numel() // 3  # RGB pixels: a sample may hold several frames as channels
        self.batch = min(cfg.batch, self.n)
        self.gen = torch.Generator().manual_seed(cfg.seed)

    def parameter_groups(self) -> dict[str, list]:
        return param_groups(self.model)

    def step(self, at: StepAt) -> StepLoss:
        """The rate-distortion loss of a batch."""
        if at.mode not in ("noise", "hard"):
            raise ConfigError(f"{self.cfg.desc}: fitted models train with noise or hard rounding, not {at.mode!r}")
        idx = torch.randperm(self.n, generator=self.gen)[: self.batch]
        cfg, device = self.cfg, self.device
        target = frames_to_tensor(self.frames[idx], device)
        with autocast(device):
            pred = self.model.render(idx.to(device), target)
        d = distortion(pred.float(), target, cfg.loss)
        bits = self.model.rate_bits(at.mode == "noise")
        loss = d + cfg.lmbda * bits / self.pixels
        # the batch's MSE as decoded; with the MSE loss, the distortion itself (every family's
        # output, a sigmoid, lies in [0, 1]: the decoder's clamp changes nothing) instead of
        # another pass over the batch (bikes' group 0: 4.5 of a step's 127 ms)
        if cfg.loss == "mse":
            mse = float(d.detach())
        else:
            mse = float(F.mse_loss(pred.detach().float().clamp(0, 1), target))
        bits_v = float(bits.detach())
        return StepLoss(loss, float(loss.detach()), mse, bits_v / self.pixels, bits_v)

    def after_step(self) -> None:
        pass

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


def fit(
    model: Fittable,
    frames: torch.Tensor,
    cfg: FitConfig,
    device: torch.device,
) -> FitStats:
    """Train ``model`` on ``frames`` (N,H,W,C uint8, CPU; C = 3, or 3 per frame when a sample
    holds several frames) with the rate-distortion loss, through :func:`codec.tools.runner.run`."""
    trainee = _FitTrainee(model, frames, cfg, device)
    limits = Limits(cfg.steps, cfg.time_budget, cfg.patience, cfg.target_psnr, cfg.min_steps)
    result = run(trainee, preset(cfg), limits, whole=trainee.batch == trainee.n, desc=cfg.desc,
                 progress=cfg.progress)
    last = result.last
    mse, bits = (last.mse, last.bits) if last is not None else (0.0, 0.0)
    return FitStats(
        steps=result.steps,
        seconds=result.seconds,
        loss=result.last_value,
        psnr=_psnr(mse),
        estimated_bits=bits,
        estimated_bpp=bits / trainee.pixels,
        frame_steps_per_second=result.steps * trainee.batch / max(result.seconds, 1e-9),
        stopped=result.stopped,
        restarts=result.restarts,
        best_psnr=result.best_psnr,
        restored=result.restored,
    )


def _psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else 100.0
