"""Pretraining the ``teconerv`` hypernetwork and hyponetwork base on a folder of videos.

Stage 1 (``steps``) fits single tubelets: loss = MSE of the rendered tubelet. Stage 2
(``coherence_steps``) draws the same tubelet in two consecutive segments: loss = the two MSEs'
mean + ``coherence`` x the sum over modulated layers of the mean L1 between the two segments'
modulated weights (TeCoNeRV's temporal coherence, 0.1 in the paper), so that weights change with
content and the stream's residuals shrink.

Runs on one process or several with torch's DistributedDataParallel (``torchrun``; gloo on the
CPU, nccl on GPUs): each process draws its own ``batch`` tubelets, gradients are averaged. Every
step's samples come from a generator seeded by ``(seed, rank, step)``, and the checkpoint holds
the networks, Adam's state and the step, so a run killed and resumed reaches the same state as
one that was not. Rank 0 writes ``checkpoint.pt`` every ``checkpoint_every`` steps (atomically),
``log.jsonl`` and, at the end, the weights file (:mod:`codec.families.teconerv.pretrained`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from codec.errors import ConfigError
from codec.families.teconerv.hyper import HyperNet, HyperSpec
from codec.families.teconerv.net import HypoNet, HypoSpec
from codec.families.teconerv.pretrain.settings import PretrainSettings

CHECKPOINT = "checkpoint.pt"
#: Subfolder of a run that receives the weights at the end of stage 1 (the coherence ablation).
STAGE1 = "stage1"
LOG = "log.jsonl"
LOG_EVERY = 25


@dataclass(frozen=True)
class PretrainConfig(PretrainSettings):
    """One pretraining run: its settings (:class:`PretrainSettings`, what ``inrv pretrain`` sets)
    and the sizes of the networks it trains."""

    hypo: HypoSpec = field(default_factory=HypoSpec)
    hyper: HyperSpec = field(default_factory=HyperSpec)


@dataclass(frozen=True)
class PretrainResult:
    step: int
    finished: bool
    seconds: float
    psnr: float
    tubelets_per_second: float
    weights: Path | None


class Pretrainable(nn.Module):
    """Hypernetwork and hyponetwork base together: what DDP wraps."""

    def __init__(self, hypo: HypoSpec, hyper: HyperSpec) -> None:
        super().__init__()
        self.hypo = HypoNet(hypo)
        self.hyper = HyperNet(hyper, hypo)

    def forward(self, clips: torch.Tensor, pairs: bool, coherence: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, mse) of a batch; with ``pairs`` the clips hold two segments each."""
        if not pairs:
            y = self.hypo(self.hyper(clips))
            mse = torch.mean((y - clips) ** 2)
            return mse, mse.detach()
        t = clips.shape[1] // 2
        both = torch.cat([clips[:, :t], clips[:, t:]])
        mods = self.hyper(both)
        mse = torch.mean((self.hypo(mods) - both) ** 2)
        b = len(clips)
        weights = self.hypo.weights(mods)
        penalty = sum(torch.mean(torch.abs(w[:b] - w[b:])) for w in weights)
        return mse + coherence * penalty, mse.detach()


def learning_rate(config: PretrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth over stage 1; stage 2 at a tenth."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if step >= config.steps:
        return config.lr * 0.1
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, clips: torch.Tensor, pairs: bool,
               coherence: float, lr: float) -> float:
    """One update; returns the batch's MSE (this process's share)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    loss, mse = model(clips, pairs, coherence)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return float(mse)


def batch_rng(seed: int, rank: int, step: int) -> np.random.Generator:
    return np.random.default_rng([seed, rank, step])


class StepBatches(torch.utils.data.IterableDataset):
    """The tubelets of steps ``start, start + 1, ...`` of one process, in order. Each step's batch
    comes from its own generator (:func:`batch_rng`), so it is the same whichever process draws it:
    with ``W`` DataLoader workers, worker ``k`` draws steps ``start + k, start + k + W, ...`` and the
    loader hands them back in turn, that is in step order."""

    def __init__(self, sampler, config: PretrainConfig, rank: int, start: int) -> None:
        self.sampler, self.config, self.rank, self.start = sampler, config, rank, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        first, every = (info.id, info.num_workers) if info is not None else (0, 1)
        c = self.config
        for step in range(self.start + first, c.total_steps, every):
            yield self.sampler.sample(batch_rng(c.seed, self.rank, step), c.batch, pairs=c.pairs_at(step))


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)


def step_batches(sampler, config: PretrainConfig, rank: int, start: int, device: torch.device):
    """An iterator over the batches of steps ``start, ...``: drawn here, or by ``config.workers``
    worker processes ahead of the training step."""
    data = StepBatches(sampler, config, rank, start)
    if config.workers == 0:
        return iter(data)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=config.workers,
                                         worker_init_fn=_one_thread, prefetch_factor=4,
                                         pin_memory=device.type == "cuda", persistent_workers=False)
    return iter(loader)


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _save_checkpoint(out: Path, model: Pretrainable, optimizer, step: int, config: PretrainConfig) -> None:
    part = out / (CHECKPOINT + ".part")
    torch.save({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "hypo": config.hypo.as_dict(), "hyper": config.hyper.as_dict()}, part)
    part.replace(out / CHECKPOINT)


def _load_checkpoint(out: Path, model: Pretrainable, optimizer, config: PretrainConfig,
                     name: str = CHECKPOINT) -> int:
    path = out / name
    if not path.is_file():
        return 0
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["hypo"] != config.hypo.as_dict() or state["hyper"] != config.hyper.as_dict():
            raise ConfigError(f"{path} holds networks of other sizes than this run's: use another --out")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        return int(state["step"])
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint: one line
        raise ConfigError(f"cannot resume from {path}: {exc}") from None


def setup(config: PretrainConfig) -> tuple[Pretrainable, torch.optim.Optimizer, torch.device]:
    """The model and optimizer of a run, seeded: the same on every process."""
    from codec.device import resolve_device

    device = resolve_device(config.device)
    if device.type == "cuda":  # fixed shapes: let cuDNN pick its kernels; TF32 for the transformer
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(config.seed)
    model = Pretrainable(config.hypo, config.hyper).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return model, optimizer, device


def pretrain(config: PretrainConfig) -> PretrainResult:
    """Run (or resume) pretraining; on several processes when started by ``torchrun``."""
    from codec.device import configure_threads
    from codec.families.teconerv.pretrain.data import TubeletSampler, prepare, video_files

    started_here = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and config.device != "cpu" else "gloo"
        dist.init_process_group(backend)
        started_here = True
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    try:
        rank, world = _world()
        configure_threads(config.threads)
        out = Path(config.out)
        say = _sayer(rank, config.progress)
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
        cache = Path(config.cache) if config.cache else Path.home() / ".cache" / "inrv" / "pretrain"
        if rank == 0:
            clips = prepare(video_files(config.data), cache, say)
        if world > 1:
            dist.barrier()
        if rank != 0:
            clips = prepare(video_files(config.data), cache, lambda _: None)
        hypo = config.hypo
        sampler = TubeletSampler(clips, hypo.frames, hypo.height, hypo.width, config.max_scale)
        model, optimizer, device = setup(config)
        step = _load_checkpoint(out, model, optimizer, config)
        if step:
            say(f"pretrain: resuming at step {step} of {config.total_steps}")
        net = model
        if world > 1:
            net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        return _loop(config, model, net, optimizer, sampler, step, out, rank, world, device, say)
    finally:
        if started_here:
            dist.destroy_process_group()


def _sayer(rank: int, progress: bool):
    def say(message: str) -> None:
        if rank == 0 and progress:
            from tqdm.auto import tqdm

            tqdm.write(message)
    return say


def _loop(config, model, net, optimizer, sampler, step, out, rank, world, device, say) -> PretrainResult:
    from tqdm.auto import tqdm

    total = config.total_steps
    bar = tqdm(total=total, initial=step, desc="pretrain", unit="step", disable=rank != 0 or not config.progress,
               dynamic_ncols=True)
    t0 = time.perf_counter()
    done_here, mses = 0, []
    log = open(out / LOG, "a") if rank == 0 else None
    batches = step_batches(sampler, config, rank, step, device)
    try:
        while step < total:
            pairs = config.pairs_at(step)
            clips = next(batches).to(device, non_blocking=True)
            mse = train_step(net, optimizer, clips, pairs, config.coherence, learning_rate(config, step))
            step += 1
            done_here += 1
            mses.append(mse)
            elapsed = time.perf_counter() - t0
            rate = done_here * config.batch * world * (2 if pairs else 1) / max(elapsed, 1e-9)
            psnr = -10 * math.log10(max(np.mean(mses[-LOG_EVERY:]), 1e-10))
            bar.update(1)
            bar.set_postfix(stage=2 if pairs else 1, psnr=f"{psnr:.2f}", tubelets_s=f"{rate:.1f}")
            if log is not None and step % LOG_EVERY == 0:
                log.write(json.dumps({"step": step, "stage": 2 if pairs else 1, "psnr": round(psnr, 3),
                                      "tubelets_per_s": round(rate, 2), "seconds": round(elapsed, 1),
                                      "world": world}) + "\n")
                log.flush()
            if rank == 0 and step == config.steps and config.coherence_steps:
                say(f"pretrain: stage 1 weights (before the coherence stage): {export(config, model, step, STAGE1)}")
            stop = config.time_limit is not None and elapsed >= config.time_limit
            if step % config.checkpoint_every == 0 or step == total or stop:
                if rank == 0:
                    _save_checkpoint(out, model, optimizer, step, config)
                if stop:
                    break
    finally:
        del batches  # stops the workers, if any
        bar.close()
        if log is not None:
            log.close()
    elapsed = time.perf_counter() - t0
    weights = None
    if step >= total and rank == 0:
        weights = export(config, model, step)
        say(f"pretrain: wrote {weights}")
    psnr = -10 * math.log10(max(np.mean(mses[-LOG_EVERY:]), 1e-10)) if mses else float("nan")
    rate = done_here * config.batch * world / max(elapsed, 1e-9)
    return PretrainResult(step, step >= total, elapsed, psnr, rate, weights)


def export(config: PretrainConfig, model: Pretrainable, step: int, sub: str = "") -> Path:
    """The weights file of a run at ``step``, in its folder (or the subfolder ``sub``)."""
    from codec.families.teconerv import pretrained

    run_only = ("hypo", "hyper", "out", "cache", "progress", "time_limit", "checkpoint_every", "device", "workers")
    training = {k: v for k, v in asdict(config).items() if k not in run_only}
    training["step"] = step
    training["data"] = Path(config.data).name
    return pretrained.save(Path(config.out) / sub, config.hypo, config.hyper.as_dict(), model.hypo.state_dict(),
                        model.hyper.state_dict(), training)


def export_checkpoint(checkpoint: str | os.PathLike, config: PretrainConfig, folder: str | os.PathLike) -> Path:
    """The weights file of a saved checkpoint (of a run with ``config``'s sizes), into ``folder``."""
    model, optimizer, _ = setup(replace(config, device="cpu"))
    path = Path(checkpoint)
    step = _load_checkpoint(path.parent, model, optimizer, config, path.name)
    return export(replace(config, out=str(folder)), model, step)
