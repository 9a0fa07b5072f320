"""Training side of ``nirvana``: groups encoded in order, each streamed (read its frames, fit,
write its chunk, drop it), each group's network starting from the previous group's.

* Key groups (group 0, and the first group after a scene cut) get the long schedule
  (``--steps``, default the quality level's: :mod:`codec.families.nirvana.ladder`); later groups at most
  :data:`LATER_STEPS_FRACTION` of it, stopping early at the scene's key-group quality or when the
  loss stops improving for :data:`PATIENCE` steps.
* A later group first measures the inherited network on its frames; if that already reaches the
  key group's quality (static content) it is not trained at all and its residual is zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bitstream.records.kinds import CHUNK_GROUP
from bitstream.records.nirvana import GroupRecord, write_group
from codec.config import EncodeConfig
from codec.family import ChunkSink, FamilyStats, FrameSource, Laddered
from codec.families.nirvana.config import CUT_PSNR, NirvanaConfig
from codec.families.nirvana.net import NirvanaNet
from codec.metrics import psnr_rgb
from codec.results import GroupResult
from codec.tools.fit import FitConfig, fit
from codec.tools.fitoptions import quality_rung, rate_lambda, step_limit
from codec.tools.groups import FrameGroup, budget_share, read_groups
from codec.tools.latents import LatentNetwork
from codec.tools.patches import PatchGrid, render_patches
from codec.tools.phases import Guards

LATER_STEPS_FRACTION = 0.25
PATIENCE = 60
MIN_LATER_STEPS = 10
LR = 4e-2
LATER_LR = 4e-2
#: Divergence guard of the fitting loop (on each step's loss when the whole group is trained every
#: step, on the running loss when steps train on subsets of patches): fast rates are close to
#: unstable for the sine stem. Bikes (640x272, subsets), group 0 at lambda 3.5e-3: the loss
#: collapses near step 90 (25.7 -> 17.9 dB); unguarded the group ends at 26.3 dB, guarded at 32.1.
#: At 1.15 the guard also fired on harmless bumps (the first steps of later groups; 16% at small
#: lambdas: carphone at 88x72, lambda 2e-4, 4 restarts and 23.7 dB against 25.3 dB without the
#: guard); at 1.5 it stays quiet there and still catches the collapses of lr 0.15 (11.7 dB without
#: a guard, 26.6 with it).
SPIKE_GUARD = 1.5
#: The same remedy when the running MSE rises above this many times its lowest (3 dB down): the rate
#: term and the fast rate wrecking the weights together, which the loss shows less, since the bits
#: fall as the distortion jumps (``Guards.collapse``). Bikes 64 at preset m, lambda 3e-2:
#: group 0 fell from 23.6 dB (step 57) to 15.4 (step 100) with a loss 1.4x its best, unguarded
#: the clip ended at 16.50 dB in 115,565 bytes, guarded at 25.56 dB in 83,530. At preset s it is
#: silent on carphone 120 (four lambdas: byte-identical files) and on bikes 64 at lambda 1.5e-2 and
#: 3.5e-3; at 3e-2 it fires once: 25.96 dB at 60,117 bytes against 25.87 at 59,827.
COLLAPSE_GUARD = 2.0
#: nirvana's divergence guards (:class:`codec.tools.phases.Guards`).
GUARDS = Guards(spike=SPIKE_GUARD, collapse=COLLAPSE_GUARD)
#: Learned per-kernel linear maps in the decoders of the convolutions (LatentTensor). Measured,
#: lambda 3.5e-3 / 1.5e-2, 400 steps: carphone +0.15 / +0.34 dB at +0.4% / +2% bytes (maps
#: included); bikes group 0: 9% fewer bits for 0.1 dB less.
KERNEL_MAPS = True
#: Patches per training step: the whole grid up to this many pixels per frame (each patch with all
#: of the group's frames).
BATCH_PIXELS = 65536


def batch_for(grid: PatchGrid) -> int:
    return min(grid.count, max(1, BATCH_PIXELS // (grid.patch * grid.patch)))


class GroupTrainable(nn.Module):
    """The network under training for the current group (a :class:`codec.tools.fit.Fittable`)."""

    def __init__(self, cfg: NirvanaConfig, grid: PatchGrid) -> None:
        super().__init__()
        self.latents = LatentNetwork(NirvanaNet(cfg, grid), kernel_maps=KERNEL_MAPS)
        self.frames = cfg.gop

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.latents(idx)[:, : 3 * self.frames]  # (B, 3 frames, P, P), like the targets

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.latents.bits(noise)


class GroupEncoder:
    """Encodes one video's groups in order, carrying the network, the previous group's codes, the
    scene's target quality and the time spent from one group to the next."""

    def __init__(self, config: NirvanaConfig, source: FrameSource, enc: EncodeConfig, device: torch.device,
                 ladder: Laddered) -> None:
        geometry = source.geometry
        self.config, self.enc, self.device, self.total = config, enc, device, geometry.num_frames
        self.grid = PatchGrid(geometry.height, geometry.width, config.patch)
        self.pixels = geometry.width * geometry.height
        torch.manual_seed(enc.seed)
        self.model = GroupTrainable(config, self.grid).to(device)
        rung = quality_rung(enc, ladder.ladder)
        self.first_steps = step_limit(enc.options, ladder.ladder_steps(rung.length, self.total))
        self.later_steps = max(1, round(self.first_steps * LATER_STEPS_FRACTION))
        self.lmbda = rate_lambda(enc, rung)
        self.spent, self.target = 0.0, None
        self.prev: list[np.ndarray] | None = None

    def psnr(self, frames: np.ndarray) -> float:
        """Mean PSNR-RGB of the group's frames as the decoder will render them."""
        return float(psnr_rgb(frames, render_patches(self.model.latents, self.grid, len(frames), self.device)).mean())

    def group(self, g: int, group: FrameGroup) -> tuple[GroupResult, bytes]:
        """Train (or inherit) group ``g``, write its chunk's payload and measure it."""
        frames, count = group.frames, len(group.frames)
        key = g == 0 or group.cut  # group 0, or the first group of a new scene
        self.model.frames = count
        if g:
            self.model.latents.next_group()
        later_groups = -(-(self.total - group.first - count) // self.config.gop)  # at least, after this one
        # a later group first renders the inherited network: if that already reaches the scene's
        # target, it is not trained, and that render is also its measured PSNR
        inherited = not key and (psnr := self.psnr(frames)) >= self.target
        if inherited:
            steps, stopped, seconds, bits = 0, "inherited", 0.0, 0.0
        else:
            fc = self.fit_config(g, key, g + 1 + later_groups, self.group_budget(key, later_groups))
            stats = fit(self.model, self.grid.tubes(frames), fc, self.device)
            steps, stopped, seconds, bits = stats.steps, stats.stopped, stats.seconds, stats.estimated_bits
        self.spent += seconds
        codes = self.model.latents.codes()
        residuals = codes if self.prev is None else [c - p for c, p in zip(codes, self.prev)]
        payload = write_group(GroupRecord(
            steps=steps,
            decoders=tuple(self.model.latents.decoders()) if g == 0 else None,
            residuals=tuple(residuals),
            frames=None if count == group.regular else count,
        ))
        if not inherited:
            psnr = self.psnr(frames)
        if key:
            self.target = psnr  # the quality the scene's later groups aim for
        self.prev = codes
        nonzero = sum(int(np.count_nonzero(r)) for r in residuals) / sum(r.size for r in residuals)
        result = GroupResult(group=g, first=group.first, frames=count, key=key, steps=steps, stopped=stopped,
                             seconds=seconds, bytes=len(payload), bpp=len(payload) * 8 / (self.pixels * count),
                             nonzero=nonzero, psnr=psnr, estimated_bits=bits)
        return result, payload

    def group_budget(self, key: bool, later_groups: int) -> float | None:
        """A group's share of what is left of ``--time-budget`` (None without one): key groups
        weigh 1, later groups :data:`LATER_STEPS_FRACTION`, as their step caps do, counting the
        groups still to come after this one."""
        budget = self.enc.options.time_budget
        if budget is None:
            return None
        weight = 1.0 if key else LATER_STEPS_FRACTION
        return budget_share(budget, self.spent, weight, LATER_STEPS_FRACTION * later_groups)

    def fit_config(self, g: int, key: bool, groups: int, budget: float | None) -> FitConfig:
        """Key groups: the long schedule. Later groups: a short one that also stops at the scene's
        key-group quality or when the loss stops improving."""
        return FitConfig(
            steps=self.first_steps if key else self.later_steps,
            time_budget=budget,
            lr=LR if key else LATER_LR,
            step_lr_mult=1.0,  # scales and densities learn at LR (measured: no gain from more)
            entropy_lr_mult=1.0,
            warmup=0.1 if key else 0.02,
            batch=batch_for(self.grid),
            lmbda=self.lmbda,
            seed=self.enc.seed + g,
            patience=None if key else PATIENCE,
            guards=GUARDS,
            min_steps=0 if key else MIN_LATER_STEPS,
            target_psnr=None if key else self.target,
            progress=self.enc.progress,
            desc=f"nirvana group {g + 1}/{groups}",
        )


def encode(config: NirvanaConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
           device: torch.device, ladder: Laddered) -> FamilyStats:
    """Every group's chunk through ``sink``, in frame order, under one progress bar for the video
    (each group's fit shows its own below it): frames done, the time left at the rate so far, and
    what the last group gave."""
    encoder = GroupEncoder(config, source, enc, device, ladder)
    grid, threshold = encoder.grid, CUT_PSNR if enc.options.scene_cut is None else enc.options.scene_cut
    groups: list[GroupResult] = []
    total_bits, total_fs = 0.0, 0.0
    with tqdm(total=encoder.total, desc="nirvana", unit="frame", disable=not enc.progress, leave=False,
              mininterval=0, miniters=1) as bar:
        for g, group in enumerate(read_groups(source, config.gop, threshold)):
            result, payload = encoder.group(g, group)
            sink(CHUNK_GROUP, payload)
            groups.append(result)
            total_bits += result.estimated_bits
            total_fs += result.steps * batch_for(grid) * result.frames / grid.count  # frame-equivalents
            bar.set_postfix_str(result.summary(), refresh=False)
            bar.update(result.frames)
    return FamilyStats.of_groups(groups, encoder.spent, total_bits, total_fs, encoder.lmbda)
