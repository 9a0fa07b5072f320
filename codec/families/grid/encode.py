"""Training side of ``grid``: groups encoded in order, each streamed (read its frames, fit, write
its chunk, drop it), each group's networks and latents starting from the previous group's.

Quantization in training follows C3 (Kim et al., CVPR 2024), after Agustsson and Theis ("Universally
quantized neural compression", NeurIPS 2020): for the first ``1 - HARD_TAIL`` of the steps the
synthesis sees ``s(s(y) + u)`` (``s``: soft rounding at a temperature annealed from
``TEMPERATURE[0]`` to ``TEMPERATURE[1]``, ``u``: uniform noise) and the rate term is the bits of
``s(y) + u`` under the context model; the last ``HARD_TAIL`` trains on the rounded latents
(straight-through) with the rate of the rounded values, what the stream will hold. The synthesis
weights train through learned-step quantizers (:mod:`codec.tools.qat`, their steps fixed after
the first group so that later groups store residual codes); the context networks through a fixed
step of ``2**-WEIGHT_SHIFT`` (what the integer decoder runs).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from bitstream.payloads import CHUNK_GRID, GridRecord, write_grid
from codec.config import EncodeConfig
from codec.family import ChunkSink, FamilyStats, FrameSource
from codec.families.grid.config import GridConfig
from codec.families.grid.context import (
    LOG_SCALE_MAX,
    LOG_SCALE_MIN,
    PAD,
    Q,
    SCHEMES,
    WEIGHT_SHIFT,
    IntegerContext,
    encode_level,
)
from codec.families.grid.net import (
    Synthesis,
    level_factors,
    level_shapes,
    load_synthesis,
    render,
)
from codec.metrics import psnr_rgb
from codec.results import GroupResult
from codec.tools.fit import lr_factor
from codec.tools.fitoptions import quality_rung, rate_lambda, step_limit
from codec.tools.groups import budget_share
from codec.tools.qat import NetworkQuantizer, round_ste

LR = 1e-2
#: Adam's learning rate for the latents (integers at the end: a step of 1 is one quantization step).
LATENT_LR = 1e-1
#: Pixels a training step sees: whole frames of the group where a frame holds fewer (as many as
#: fit), else a window of one frame; steps cost about the same on any frame size. One frame a step
#: updates the levels shared by several frames on every step, where a small window of every frame
#: reached each latent in about one step of seven on 640x272 (docs/grid.md).
STEP_PIXELS = 160 * 160 * 8
WARMUP = 0.05
#: Share of a group's steps trained on hard-rounded latents at the end.
HARD_TAIL = 0.15
#: Soft-rounding temperature, annealed linearly from the first to the second over the soft phase.
TEMPERATURE = (0.3, 0.1)
#: Later groups start from the previous group and train this share of the first group's steps.
LATER_STEPS_FRACTION = 0.5
#: Later groups train their networks too (else only their latents: the networks' residuals are zero).
LATER_NETWORKS = True
LN2 = math.log(2.0)


def soft_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft rounding (Agustsson and Theis 2020): ``round(x)`` as the temperature goes to 0,
    identity as it grows, differentiable everywhere."""
    m = torch.floor(x) + 0.5
    return m + torch.tanh((x - m) / temperature) / (2.0 * math.tanh(0.5 / temperature))


def laplace_bits(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Total bits of ``x`` under discretized Laplace distributions (unit bins around integers),
    stable in the tails (log-space there)."""
    b = log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX).exp()
    a = (x - mean).abs()
    far_a = a.clamp_min(0.5)
    far = 1.0 + (far_a - 0.5) / (b * LN2) - torch.log2(-torch.expm1(-1.0 / b))
    near_a = a.clamp_max(0.5)
    near = -torch.log2((1.0 - torch.exp(-0.5 / b) * torch.cosh(near_a / b)).clamp_min(2.0**-24))
    return torch.where(a >= 0.5, far, near).sum()


class ContextNet(nn.Module):
    """The context networks under training: one MLP per neighbourhood class of the scheme (and,
    with ``GridConfig.level_bias``, an offset of its outputs per latent level), its weights
    rounded to ``2**-WEIGHT_SHIFT`` in the forward pass (straight-through), the float mirror of
    :class:`codec.families.grid.context.IntegerContext`."""

    def __init__(self, config: GridConfig) -> None:
        super().__init__()
        self.scheme = SCHEMES[config.scheme]
        self.nets = nn.ModuleList()
        for offsets in self.scheme.classes:
            widths = [len(offsets)] + [config.ctx_hidden] * config.ctx_layers + [2]
            layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
            with torch.no_grad():
                layers[-1].weight.mul_(0.1)
                layers[-1].bias.zero_()
            self.nets.append(layers)
        levels = config.bias_levels
        self.level_bias = nn.Parameter(torch.zeros(levels, 2)) if levels else None

    def forward(self, cls: int, features: torch.Tensor, level: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log-scale)`` of latents of ``level`` with neighbour ``features`` (n, K)."""
        h = features
        layers = self.nets[cls]
        unit = 2.0**WEIGHT_SHIFT
        for i, lin in enumerate(layers):
            bias = lin.bias
            if i == len(layers) - 1 and self.level_bias is not None:
                bias = bias + round_ste(self.level_bias[level] * unit) / unit
            h = F.linear(h, round_ste(lin.weight * unit) / unit, round_ste(bias * unit) / unit)
            if i < len(layers) - 1:
                h = F.relu(h)
        return h[:, 0], h[:, 1]

    def codes(self) -> list[np.ndarray]:
        """The integer codes the stream holds, in its tensor order."""
        params = [p for layers in self.nets for lin in layers for p in (lin.weight, lin.bias)]
        if self.level_bias is not None:
            params.append(self.level_bias)
        return [torch.round(p.detach() * 2.0**WEIGHT_SHIFT).to(torch.int64).cpu().numpy() for p in params]


def region_bits(q: torch.Tensor, inner: tuple[int, int, int, int, int, int], origin: tuple[int, int, int],
                context: ContextNet, level: int = 0) -> torch.Tensor:
    """Bits of the latents ``q[u0:u1, r0:r1, c0:c1]`` (``inner``) of a slice ``q`` of level
    ``level``'s grid starting at ``origin`` (grid, row, column) of the level, under the context
    model; the slice holds real neighbours at least :data:`PAD` latents beyond the inner part
    except at the level's edges (zeros there, as for the decoder)."""
    u0, u1, r0, r1, c0, c1 = inner
    padded = F.pad(q, (PAD,) * 6)
    _, classes = context.scheme.passes((u1 - u0, r1 - r0, c1 - c0), (origin[0] + u0, origin[1] + r0, origin[2] + c0))
    classes = torch.from_numpy(classes.reshape(-1)).to(q.device)
    flat = q[u0:u1, r0:r1, c0:c1].reshape(-1)
    total = q.new_zeros(())
    for c, offsets in enumerate(context.scheme.classes):
        mask = classes == c
        feats = torch.stack([padded[PAD + u0 + dt : PAD + u1 + dt, PAD + r0 + dy : PAD + r1 + dy,
                                    PAD + c0 + dx : PAD + c1 + dx] for dt, dy, dx in offsets],
                            dim=-1).reshape(-1, len(offsets))
        mean, log_scale = context(c, feats[mask], level)
        total = total + laplace_bits(flat[mask], mean, log_scale)
    return total


def resample(x: torch.Tensor, dim: int, factor: int, first: int, count: int, size: int, lo: int) -> torch.Tensor:
    """Output samples ``first .. first + count - 1`` of the 1-D linear upsampling by ``factor``
    along ``dim`` (half-pixel centres, edges clamped, as ``torch.nn.functional.interpolate``) of a
    grid of ``size`` samples, of which ``x`` holds the slice from ``lo``: two gathers and a blend
    (on a CPU, cheaper than ``interpolate``'s backward and than a dense matrix on wide frames)."""
    src = np.maximum((np.arange(first, first + count) + 0.5) / factor - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    shape = [1] * x.dim()
    shape[dim] = count
    frac = torch.from_numpy((src - i0).astype(np.float32)).to(x.device).view(shape)
    a = x.index_select(dim, torch.from_numpy(i0 - lo).to(x.device))
    b = x.index_select(dim, torch.from_numpy(i1 - lo).to(x.device))
    return a + (b - a) * frac


def crop_upsample(sub: torch.Tensor, factor: tuple[int, int], crop: "Crop", times: tuple[int, int, int],
                  rows: tuple[int, int, int], cols: tuple[int, int, int]) -> torch.Tensor:
    """The crop's samples ``(crop.frames, crop.height, crop.width)`` of a level upsampled by
    ``factor`` (:func:`codec.families.grid.net.upsample_level`), from ``sub``, the slice
    ``times[0]:times[1]`` x ``rows[0]:rows[1]`` x ``cols[0]:cols[1]`` of a level of ``times[2]``
    x ``rows[2]`` x ``cols[2]`` latents, separably: columns, rows, then time."""
    ft, fs = factor
    x = sub
    if ft == 1:
        x = x[crop.first - times[0] : crop.first - times[0] + crop.frames]
    if fs == 1:
        x = x[:, crop.top - rows[0] : crop.top - rows[0] + crop.height,
              crop.left - cols[0] : crop.left - cols[0] + crop.width]
    else:
        x = resample(x, 2, fs, crop.left, crop.width, cols[2], cols[0])
        x = resample(x, 1, fs, crop.top, crop.height, rows[2], rows[0])
    if ft > 1:
        x = resample(x, 0, ft, crop.first, crop.frames, times[2], times[0])
    return x


def crop_size(height: int, width: int, frames: int) -> tuple[int, int, int]:
    """``(frames, rows, columns)`` of a training step's window on a group of ``frames`` frames of
    ``height x width``: about :data:`STEP_PIXELS` pixels, as whole frames where one frame holds
    fewer (as many as fit), else a window of one frame."""
    if height * width <= STEP_PIXELS:
        return max(1, min(frames, STEP_PIXELS // (height * width))), height, width
    rows = min(height, math.isqrt(STEP_PIXELS))
    return 1, rows, min(width, STEP_PIXELS // rows)


def crop_starts(frames: int, window: int) -> list[int]:
    """First frames of windows of ``window`` frames that cover a group of ``frames`` (a training
    epoch: each window once)."""
    starts = list(range(0, frames - window + 1, window))
    return starts + ([frames - window] if starts[-1] + window < frames else [])


@dataclass(frozen=True)
class Crop:
    """A training step's window: frames ``first .. first + frames - 1`` of the group, rows ``top
    .. top + height - 1``, columns ``left .. left + width - 1``."""

    first: int
    frames: int
    top: int
    left: int
    height: int
    width: int


class GridTrainable(nn.Module):
    """The latents and networks of the group under training."""

    def __init__(self, config: GridConfig, height: int, width: int) -> None:
        super().__init__()
        self.config, self.height, self.width = config, height, width
        self.factors = level_factors(config)
        self.synthesis = Synthesis(config)
        self.quant = NetworkQuantizer(self.synthesis)
        self.context = ContextNet(config)
        self.latents = nn.ParameterList()

    def start_group(self, frames: int, device: torch.device) -> None:
        """Latents for a group of ``frames`` frames: zeros for the first group; else every grid of a
        level is the previous group's last grid of that level (the frames nearest the new ones)."""
        shapes = level_shapes(self.config, frames, self.height, self.width)
        old = [p.detach() for p in self.latents]
        self.latents = nn.ParameterList(
            nn.Parameter(old[k][-1:].expand(s).clone() if old else torch.zeros(s, device=device))
            for k, s in enumerate(shapes))

    def freeze_steps(self) -> None:
        """Keep the synthesis's quantization steps from here on (later groups store residual codes)."""
        for q in self.quant.quantizers:
            q.log_step.requires_grad_(False)

    def forward(self, frames: int, crop: Crop, temperature: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rendered crop (crop.frames, 3, h, w), estimated bits per pixel)`` for a group of
        ``frames`` frames; ``temperature`` None: hard rounding. The crop's upsampled latents equal
        those of the whole group: each level is sliced with a margin (of :data:`PAD` latents, which
        the context also needs) and upsampled at its factor, so that the slice's samples sit where
        the whole level's do. The rate covers the latents under the crop, per pixel they span."""
        planes, bpp = [], 0.0
        for k, (y, (ft, fs)) in enumerate(zip(self.latents, self.factors)):
            tk, hk, wk = y.shape
            u0, u1 = crop.first // ft, -(-(crop.first + crop.frames) // ft)
            a0, a1 = crop.top // fs, -(-(crop.top + crop.height) // fs)
            b0, b1 = crop.left // fs, -(-(crop.left + crop.width) // fs)
            v0, v1 = max(0, u0 - PAD), min(tk, u1 + PAD)
            s0, s1, t0, t1 = max(0, a0 - PAD), min(hk, a1 + PAD), max(0, b0 - PAD), min(wk, b1 + PAD)
            sub = y[v0:v1, s0:s1, t0:t1]
            if temperature is None:
                seen = coded = round_ste(sub)
            else:
                coded = soft_round(sub, temperature) + torch.empty_like(sub).uniform_(-0.5, 0.5)
                seen = soft_round(coded, temperature)
            w0, w1 = max(v0, u0 - 1), min(v1, u1 + 1)  # the grids the crop's frames interpolate
            planes.append(crop_upsample(seen[w0 - v0 : w1 - v0], (ft, fs), crop, (w0, w1, tk), (s0, s1, hk),
                                        (t0, t1, wk)))
            bits = region_bits(coded, (u0 - v0, u1 - v0, a0 - s0, a1 - s0, b0 - t0, b1 - t0), (v0, s0, t0),
                               self.context, k)
            spanned = ((min(u1 * ft, frames) - u0 * ft) * (min(a1 * fs, self.height) - a0 * fs)
                       * (min(b1 * fs, self.width) - b0 * fs))
            bpp = bpp + bits / spanned
        z = torch.stack(planes, dim=1)
        pred = functional_call(self.synthesis, self.quant.quantized_params(self.synthesis), (z,))
        net_bits = self.quant.bits(self.synthesis, noise=temperature is not None)
        return pred, bpp + net_bits / (frames * self.height * self.width)

    def estimated_bits(self) -> float:
        """The training-time estimate of what the group's chunk holds: the rounded latents of every
        level under the context model, and the synthesis (a step's figure covers only its crop)."""
        with torch.no_grad():
            bits = sum(float(region_bits(torch.round(y), (0, y.shape[0], 0, y.shape[1], 0, y.shape[2]), (0, 0, 0),
                                         self.context, k))
                       for k, y in enumerate(self.latents))
            return bits + float(self.quant.bits(self.synthesis, noise=False))

    def latent_codes(self) -> list[np.ndarray]:
        return [torch.round(y.detach()).clamp(-Q, Q).to(torch.int64).cpu().numpy() for y in self.latents]


@dataclass(frozen=True)
class Trained:
    steps: int
    stopped: str
    seconds: float
    bits: float


class GridEncoder:
    """Encodes one video's groups in order, carrying the networks, the latents and the previous
    group's codes from one group to the next."""

    def __init__(self, config: GridConfig, source: FrameSource, enc: EncodeConfig, device: torch.device) -> None:
        geometry = source.geometry
        self.config, self.enc, self.device = config, enc, device
        self.total, self.height, self.width = geometry.num_frames, geometry.height, geometry.width
        torch.manual_seed(enc.seed)
        self.model = GridTrainable(config, self.height, self.width).to(device)
        from codec.families.grid import FAMILY

        rung = quality_rung(enc, FAMILY.ladder)
        self.first_steps = step_limit(enc.options, FAMILY.ladder_steps(rung.length, self.total))
        self.later_steps = max(1, round(self.first_steps * LATER_STEPS_FRACTION))
        self.lmbda = rate_lambda(enc, rung)
        self.groups = -(-self.total // config.gop)
        self.spent = 0.0
        self.prev_synthesis: list[np.ndarray] | None = None
        self.prev_context: list[np.ndarray] | None = None
        self.synthesis_steps = np.zeros(0, dtype=np.float32)  # group 0's, the stream's

    def budget(self, g: int) -> float | None:
        """The group's share of what is left of ``--time-budget`` (later groups weigh
        :data:`LATER_STEPS_FRACTION`, as their step counts do)."""
        budget = self.enc.options.time_budget
        if budget is None:
            return None
        weight = 1.0 if g == 0 else LATER_STEPS_FRACTION
        return budget_share(budget, self.spent, weight, LATER_STEPS_FRACTION * (self.groups - g - 1))

    def train(self, g: int, frames: np.ndarray) -> Trained:
        model, count = self.model, len(frames)
        model.start_group(count, self.device)
        if g == 1:
            model.freeze_steps()
            if not LATER_NETWORKS:
                for net in (model.synthesis, model.quant, model.context):
                    net.requires_grad_(False)
        steps = self.first_steps if g == 0 else self.later_steps
        budget = self.budget(g)
        target = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float().div(255.0)
        latents = set(id(p) for p in model.latents)
        nets = [p for p in model.parameters() if p.requires_grad and id(p) not in latents]
        opt = torch.optim.Adam([{"params": list(model.latents), "base": LATENT_LR}, {"params": nets, "base": LR}])
        torch.manual_seed(self.enc.seed * 1000 + g)
        rng = np.random.default_rng(self.enc.seed * 1000 + g)
        cf, ch, cw = crop_size(self.height, self.width, count)
        starts: list[int] = []
        start, done, stopped, bpp_value, mse_avg = time.perf_counter(), 0, "steps", 0.0, None
        desc = f"grid group {g + 1}/{self.groups}"
        with tqdm(total=steps, desc=desc, unit="step", disable=not self.enc.progress, leave=False) as bar:
            for step in range(steps):
                progress = step / steps
                soft_end = 1.0 - HARD_TAIL
                temperature = None if progress >= soft_end else (
                    TEMPERATURE[0] + (TEMPERATURE[1] - TEMPERATURE[0]) * progress / soft_end)
                for group in opt.param_groups:
                    group["lr"] = group["base"] * lr_factor(progress, WARMUP)
                if not starts:  # a new epoch: every window of frames once, in a random order
                    starts = [int(s) for s in rng.permutation(crop_starts(count, cf))]
                first = starts.pop()
                crop = Crop(first, cf, int(rng.integers(0, self.height - ch + 1)),
                            int(rng.integers(0, self.width - cw + 1)), ch, cw)
                pred, bpp = model(count, crop, temperature)
                mse = F.mse_loss(pred, target[first : first + cf, :, crop.top : crop.top + ch,
                                              crop.left : crop.left + cw])
                loss = mse + self.lmbda * bpp
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    for y in model.latents:
                        y.clamp_(-Q, Q)
                done += 1
                bpp_value = float(bpp.detach())
                m = float(mse.detach())
                mse_avg = m if mse_avg is None else 0.9 * mse_avg + 0.1 * m
                if step % 10 == 0 or step == steps - 1:
                    bar.set_postfix_str(f"{-10 * math.log10(max(mse_avg, 1e-10)):.2f} dB, "
                                        f"{bpp_value:.4f} bpp (crop)", refresh=False)
                bar.update(1)
                if budget is not None and time.perf_counter() - start >= budget:
                    stopped = "time"
                    break
        seconds = time.perf_counter() - start
        self.spent += seconds
        return Trained(done, stopped, seconds, model.estimated_bits())

    def group(self, g: int, first: int, frames: np.ndarray) -> tuple[GroupResult, bytes, Trained]:
        """Train group ``g``, write its chunk's payload and measure it as the decoder renders it."""
        trained = self.train(g, frames)
        model, count = self.model, len(frames)
        latents = model.latent_codes()
        context_codes = model.context.codes()
        quantized = model.quant.export(model.synthesis)
        synthesis_codes = [q.codes.astype(np.int64) for q in quantized]
        steps = np.asarray([float(q.scales[0]) for q in quantized], dtype=np.float32)
        integer = IntegerContext.from_codes(SCHEMES[self.config.scheme], context_codes, self.config.ctx_hidden,
                                            self.config.ctx_layers, self.config.bias_levels)
        record = GridRecord(
            steps=trained.steps,
            synthesis_steps=steps if g == 0 else None,
            synthesis=tuple(_residual(synthesis_codes, self.prev_synthesis)),
            context=tuple(_residual(context_codes, self.prev_context)),
            levels=tuple(encode_level(codes, integer, k) for k, codes in enumerate(latents)),
        )
        if g == 0:
            self.synthesis_steps = steps
        payload = write_grid(record)
        self.prev_synthesis, self.prev_context = synthesis_codes, context_codes
        decoder_net = load_synthesis(Synthesis(self.config), synthesis_codes, self.synthesis_steps).to(self.device)
        rendered = render(decoder_net, [torch.from_numpy(c).float().to(self.device) for c in latents],
                          model.factors, count, self.height, self.width)
        psnr = float(psnr_rgb(frames, rendered).mean())
        nonzero = sum(int(np.count_nonzero(c)) for c in latents) / sum(c.size for c in latents)
        result = GroupResult(group=g, first=first, frames=count, key=g == 0, steps=trained.steps,
                             stopped=trained.stopped, seconds=trained.seconds, bytes=len(payload),
                             bpp=len(payload) * 8 / (count * self.height * self.width), nonzero=nonzero, psnr=psnr)
        return result, payload, trained


def _residual(codes: list[np.ndarray], previous: list[np.ndarray] | None) -> list[np.ndarray]:
    return codes if previous is None else [c - p for c, p in zip(codes, previous)]


def encode(config: GridConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
           device: torch.device) -> FamilyStats:
    """Every group's chunk through ``sink``, in frame order, under one progress bar for the video."""
    encoder = GridEncoder(config, source, enc, device)
    results: list[GroupResult] = []
    total_bits, frame_steps = 0.0, 0.0
    with tqdm(total=encoder.total, desc="grid", unit="frame", disable=not enc.progress, leave=False) as bar:
        for g, first in enumerate(range(0, encoder.total, config.gop)):
            frames = source.read(first, min(config.gop, encoder.total - first))
            result, payload, trained = encoder.group(g, first, frames)
            sink(CHUNK_GRID, payload)
            results.append(result)
            total_bits += trained.bits
            frame_steps += trained.steps * result.frames
            bar.set_postfix_str(result.summary(), refresh=False)
            bar.update(result.frames)
    return FamilyStats.of_groups(results, encoder.spent, total_bits, frame_steps, encoder.lmbda)
