"""Training side of ``grid``: groups encoded in order, each streamed (read its frames, fit, write
its chunk, drop it), each group's networks and latents starting from the previous group's.

Each group trains through the one training runner (:mod:`codec.tools.runner`) with grid's presets
(:mod:`codec.families.grid.presets`: C3's soft rounding then a hard-rounding tail; the first
group's preset, then the later groups' with the quantization steps frozen). The synthesis weights
train through learned-step quantizers (:mod:`codec.tools.qat`, their steps fixed after the first
group so that later groups store residual codes); the context networks through a fixed step of
``2**-WEIGHT_SHIFT`` (what the integer decoder runs).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from bitstream.records.grid import GridRecord, write_grid
from bitstream.records.kinds import CHUNK_GRID
from codec.config import EncodeConfig
from codec.family import ChunkSink, FamilyStats, FrameSource, Laddered
from codec.families.grid.config import GridConfig
from codec.families.grid.presets import FIRST, LATER, LATER_STEPS_FRACTION
from codec.families.grid.net import (
    Synthesis,
    level_factors,
    level_shapes,
    load_synthesis,
    render,
)
from codec.metrics import psnr_rgb
from codec.results import GroupResult
from codec.tools.fitoptions import quality_rung, rate_lambda, step_limit
from codec.tools.groups import budget_share
from codec.tools.latentgrid import SCHEMES, IntegerContext, Q, crops, encode_level
from codec.tools.latentgrid.crops import Crop, LevelWindow, crop_starts
from codec.tools.latentgrid.training import ContextNet, LatentStack, level_bits, quantize_proxy, region_bits
from codec.tools.phases import Limits
from codec.tools.qat import NetworkQuantizer
from codec.tools.runner import RunResult, StepAt, StepLoss, run
from codec.tools.structure import group_sizes, groups

#: Pixels a training step sees: whole frames of the group where a frame holds fewer (as many as
#: fit), else a window of one frame; steps cost about the same on any frame size. One frame a step
#: updates the levels shared by several frames on every step, where a small window of every frame
#: reached each latent in about one step of seven on 640x272 (docs/grid.md).
STEP_PIXELS = 160 * 160 * 8


def crop_size(height: int, width: int, frames: int) -> tuple[int, int, int]:
    """``(frames, rows, columns)`` of a training step's window on a group: about
    :data:`STEP_PIXELS` pixels (:func:`codec.tools.latentgrid.crops.crop_size`)."""
    return crops.crop_size(height, width, frames, STEP_PIXELS)


class GridTrainable(nn.Module):
    """The latents and networks of the group under training: a 3-D latent pyramid
    (:class:`codec.tools.latentgrid.training.LatentStack`), grid's synthesis behind its quantizers
    and the context model's float mirror."""

    def __init__(self, config: GridConfig, height: int, width: int) -> None:
        super().__init__()
        self.config, self.height, self.width = config, height, width
        self.factors = level_factors(config)
        self.synthesis = Synthesis(config)
        self.quant = NetworkQuantizer(self.synthesis)
        self.context = ContextNet(SCHEMES[config.scheme], config.ctx_hidden, config.ctx_layers, config.bias_levels)
        self.latents = LatentStack()

    def start_group(self, frames: int, device: torch.device) -> None:
        """Latents for a group of ``frames`` frames: zeros for the first group; else every grid of a
        level is the previous group's last grid of that level (the frames nearest the new ones)."""
        shapes = level_shapes(self.config, frames, self.height, self.width)
        self.latents = LatentStack.start(shapes, device, self.latents)

    def freeze_steps(self) -> None:
        """Keep the synthesis's quantization steps from here on (later groups store residual codes)."""
        for q in self.quant.quantizers:
            q.log_step.requires_grad_(False)

    def forward(self, frames: int, crop: Crop, temperature: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rendered crop (crop.frames, 3, h, w), estimated bits per pixel)`` for a group of
        ``frames`` frames; ``temperature`` None: hard rounding. The crop's upsampled latents equal
        those of the whole group: each level is sliced with a margin (which the context also needs)
        and upsampled at its factor, so that the slice's samples sit where the whole level's do
        (:class:`codec.tools.latentgrid.crops.LevelWindow`). The rate covers the latents under the
        crop, per pixel they span."""
        planes, bpp = [], 0.0
        for k, (y, factor) in enumerate(zip(self.latents, self.factors)):
            window = LevelWindow.of(tuple(y.shape), factor, crop, (frames, self.height, self.width))
            seen, coded = quantize_proxy(window.slice(y), temperature)
            planes.append(window.upsample(seen))
            bits = region_bits(coded, window.inner, window.origin, self.context, k)
            bpp = bpp + bits / window.spanned
        z = torch.stack(planes, dim=1)
        pred = functional_call(self.synthesis, self.quant.quantized_params(self.synthesis), (z,))
        net_bits = self.quant.bits(self.synthesis, noise=temperature is not None)
        return pred, bpp + net_bits / (frames * self.height * self.width)

    def estimated_bits(self) -> float:
        """The training-time estimate of what the group's chunk holds: the rounded latents of every
        level under the context model, and the synthesis (a step's figure covers only its crop)."""
        with torch.no_grad():
            bits = sum(float(level_bits(torch.round(y), self.context, k)) for k, y in enumerate(self.latents))
            return bits + float(self.quant.bits(self.synthesis, noise=False))

    def latent_codes(self) -> list[np.ndarray]:
        return self.latents.codes()


class _GroupTrainee:
    """A group under training as the runner's :class:`codec.tools.runner.Trainee`: each step a
    crop (:func:`crop_size`; an epoch visits every window of frames once, in a random order drawn
    from ``rng``, each at a random position), its rate-distortion loss ``MSE + lambda * bpp``, and
    the latents clamped to the coder's range after Adam's step."""

    def __init__(self, model: GridTrainable, frames: np.ndarray, lmbda: float, device: torch.device) -> None:
        self.model, self.lmbda, self.count = model, lmbda, len(frames)
        self.target = torch.from_numpy(frames).to(device).permute(0, 3, 1, 2).float().div(255.0)
        self.window = crop_size(model.height, model.width, self.count)
        self.rng = np.random.default_rng(0)
        self.starts: list[int] = []

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """``latents``, the synthesis's quantization ``steps``, and the ``networks`` (the rest)."""
        model = self.model
        steps = [q.log_step for q in model.quant.quantizers]
        apart = set(id(p) for p in model.latents) | set(id(p) for p in steps)
        return {"latents": list(model.latents), "networks": [p for p in model.parameters() if id(p) not in apart],
                "steps": steps}

    def step(self, at: StepAt) -> StepLoss:
        model, (cf, ch, cw) = self.model, self.window
        if not self.starts:  # a new epoch: every window of frames once, in a random order
            self.starts = [int(s) for s in self.rng.permutation(crop_starts(self.count, cf))]
        first = self.starts.pop()
        crop = Crop(first, cf, int(self.rng.integers(0, model.height - ch + 1)),
                    int(self.rng.integers(0, model.width - cw + 1)), ch, cw)
        pred, bpp = model(self.count, crop, at.temperature if at.mode == "soft" else None)
        mse = F.mse_loss(pred, self.target[first : first + cf, :, crop.top : crop.top + ch,
                                           crop.left : crop.left + cw])
        loss = mse + self.lmbda * bpp
        return StepLoss(loss, float(loss.detach()), float(mse.detach()), float(bpp.detach()))

    def after_step(self) -> None:
        with torch.no_grad():
            for y in self.model.latents:
                y.clamp_(-Q, Q)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


class GridEncoder:
    """Encodes one video's groups in order, carrying the networks, the latents and the previous
    group's codes from one group to the next."""

    def __init__(self, config: GridConfig, source: FrameSource, enc: EncodeConfig, device: torch.device,
                 ladder: Laddered) -> None:
        geometry = source.geometry
        self.config, self.enc, self.device = config, enc, device
        self.total, self.height, self.width = geometry.num_frames, geometry.height, geometry.width
        torch.manual_seed(enc.seed)
        self.model = GridTrainable(config, self.height, self.width).to(device)
        rung = quality_rung(enc, ladder.ladder)
        self.first_steps = step_limit(enc.options, ladder.ladder_steps(rung.length, self.total))
        self.later_steps = max(1, round(self.first_steps * LATER_STEPS_FRACTION))
        self.lmbda = rate_lambda(enc, rung)
        self.groups = len(group_sizes(self.total, config.gop))
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

    def train(self, g: int, frames: np.ndarray) -> RunResult:
        """Train group ``g`` on its ``frames`` (the first group with :data:`presets.FIRST`, later
        ones with :data:`presets.LATER`)."""
        count = len(frames)
        self.model.start_group(count, self.device)
        steps = self.first_steps if g == 0 else self.later_steps
        trainee = _GroupTrainee(self.model, frames, self.lmbda, self.device)
        torch.manual_seed(self.enc.seed * 1000 + g)
        trainee.rng = np.random.default_rng(self.enc.seed * 1000 + g)
        result = run(trainee, FIRST if g == 0 else LATER, Limits(steps, self.budget(g)), whole=False,
                     desc=f"grid group {g + 1}/{self.groups}", progress=self.enc.progress)
        self.spent += result.seconds
        return result

    def group(self, g: int, first: int, frames: np.ndarray) -> tuple[GroupResult, bytes]:
        """Train group ``g``, write its chunk's payload and measure it as the decoder renders it."""
        trained = self.train(g, frames)
        bits = self.model.estimated_bits()
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
                             bpp=len(payload) * 8 / (count * self.height * self.width), nonzero=nonzero, psnr=psnr,
                             estimated_bits=bits)
        return result, payload


def _residual(codes: list[np.ndarray], previous: list[np.ndarray] | None) -> list[np.ndarray]:
    return codes if previous is None else [c - p for c, p in zip(codes, previous)]


def encode(config: GridConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
           device: torch.device, ladder: Laddered) -> FamilyStats:
    """Every group's chunk through ``sink``, in frame order, under one progress bar for the video."""
    encoder = GridEncoder(config, source, enc, device, ladder)
    results: list[GroupResult] = []
    total_bits, frame_steps = 0.0, 0.0
    with tqdm(total=encoder.total, desc="grid", unit="frame", disable=not enc.progress, leave=False) as bar:
        for chunk in groups(encoder.total, config.gop).chunks:
            frames = source.read(chunk.first, chunk.count)
            result, payload = encoder.group(chunk.index, chunk.first, frames)
            sink(CHUNK_GRID, payload)
            results.append(result)
            total_bits += result.estimated_bits
            frame_steps += result.steps * result.frames
            bar.set_postfix_str(result.summary(), refresh=False)
            bar.update(result.frames)
    return FamilyStats.of_groups(results, encoder.spent, total_bits, frame_steps, encoder.lmbda)
