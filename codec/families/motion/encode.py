"""Training side of ``motion``: frames coded one by one in the coding structure's order, each
trained against the decoded references it will be predicted from (closed loop), its chunk
written, its decoded frame kept while later frames reference it.

A frame's parts (:mod:`codec.families.motion.net`) train through the one training runner
(:mod:`codec.tools.runner`) with :mod:`codec.families.motion.presets`: an inter frame's motion
decoder first fitted to an optical flow (:mod:`codec.families.motion.flow`), then every part on
``MSE + lambda * bpp`` of the frame, the rate that of its latents under their context models (and,
in the first frame of its type, of its synthesis weights). Latents start from the last coded frame
of the same type (NIRVANA's autoregressive initialisation, Maiya et al., CVPR 2023, here per frame)
unless ``--cold``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from bitstream.records.kinds import CHUNK_FRAME
from bitstream.records.motion import FrameRecord, PartRecord, write_frame
from codec.config import EncodeConfig
from codec.family import ChunkSink, FamilyStats, FrameSource, Laddered
from codec.families.grid.net import load_synthesis
from codec.families.motion import presets
from codec.families.motion.config import DEFAULT_FLOW, MotionConfig
from codec.families.motion.decode import RoleNetworks, coding_structure
from codec.families.motion.flow import flow_targets
from codec.families.motion.net import (
    FLOW_UNIT,
    PARTS,
    SCHEME,
    PartShape,
    compose,
    from_uint8,
    part_net,
    part_output,
    part_shape,
    to_uint8,
)
from codec.metrics import psnr_rgb
from codec.results import GroupResult
from codec.tools.chain import ReferenceFrames
from codec.tools.fitoptions import quality_rung, rate_lambda, step_limit
from codec.tools.latentgrid import Q, IntegerContext, encode_level
from codec.tools.latentgrid.crops import resample
from codec.tools.latentgrid.training import ContextNet, PyramidRate, quantize_proxy
from codec.tools.phases import Limits
from codec.tools.qat import NetworkQuantizer
from codec.tools.runner import StepAt, StepLoss, run
from codec.tools.structure import CodedFrame


class PartTrainable(nn.Module):
    """One part under training: its latents (a 2-D pyramid over the part's grid, held as one flat
    vector so that quantization and the rate run once over every level:
    :class:`codec.tools.latentgrid.training.PyramidRate`), its synthesis behind learned-step
    quantizers and its context model's float mirror. ``networks``: whether this frame trains (and
    stores) the networks, or reuses those of the first frame of its type."""

    def __init__(self, part: PartShape, config: MotionConfig, height: int, width: int) -> None:
        super().__init__()
        self.part, self.height, self.width = part, height, width
        self.synthesis = part_net(part)
        self.quant = NetworkQuantizer(self.synthesis)
        self.context = ContextNet(SCHEME, config.ctx_hidden, config.ctx_layers, part.levels)
        self.shapes = part.shapes(height, width)
        self.sizes = [math.prod(s) for s in self.shapes]
        self.latents = nn.Parameter(torch.zeros(sum(self.sizes)))
        self.rate: PyramidRate | None = None
        self.networks = True
        self.frozen: dict[str, torch.Tensor] | None = None  # the quantized synthesis, once frozen

    def start(self, device: torch.device, warm: bool) -> None:
        """Fresh latents for a new frame: zeros, or (``warm``) this part's last frame's."""
        if self.rate is None:
            self.rate = PyramidRate(self.shapes, SCHEME, device)
        start = self.latents.detach().clone() if warm else torch.zeros(sum(self.sizes), device=device)
        self.latents = nn.Parameter(start.to(device))

    def freeze_networks(self) -> None:
        """Keep the networks from here on (later frames of the type reuse them)."""
        self.networks = False
        for p in list(self.synthesis.parameters()) + list(self.context.parameters()) + list(self.quant.parameters()):
            p.requires_grad_(False)
        with torch.no_grad():
            self.frozen = {k: v.detach() for k, v in self.quant.quantized_params(self.synthesis).items()}

    def network_parameters(self) -> list[nn.Parameter]:
        return list(self.synthesis.parameters()) + list(self.context.parameters()) + [
            p for name, p in self.quant.named_parameters() if not name.endswith("log_step")]

    def step_parameters(self) -> list[nn.Parameter]:
        return [q.log_step for q in self.quant.quantizers]

    def levels(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The flat latents as the levels' grids ``(1, h, w)``."""
        return [y.view(s) for y, s in zip(torch.split(flat, self.sizes), self.shapes)]

    def forward(self, mode: str, temperature: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(output (1, out, h, w), estimated bits)``: ``mode`` "none" runs the float latents
        through the float synthesis (no rate); else the latents through the quantization proxy
        (soft rounding at ``temperature``, or hard) and the synthesis through its quantizers, the
        bits those of the latents and, while it trains them, of the synthesis. Each level is
        upsampled bilinearly (half-pixel centres, edges clamped: the decoder's upsampling) by
        separable gathers (:func:`codec.tools.latentgrid.crops.resample`; their backward is an
        index-add, three times cheaper than ``interpolate``'s on a CPU)."""
        h, w = self.part.grid(self.height, self.width)
        if mode == "none":
            seen, bits = self.latents, torch.zeros((), device=self.latents.device)
        else:
            seen, coded = quantize_proxy(self.latents, temperature if mode == "soft" else None)
            bits = self.rate.bits(coded, self.context)
        planes = [y if k == 0 else resample(resample(y, 2, 2**k, 0, w, y.shape[2], 0), 1, 2**k, 0, h, y.shape[1], 0)
                  for k, y in enumerate(self.levels(seen))]
        z = torch.cat(planes)[None]
        if mode == "none":
            return self.synthesis(z), bits
        params = self.frozen if self.frozen is not None else self.quant.quantized_params(self.synthesis)
        out = functional_call(self.synthesis, params, (z,))
        if self.networks:
            bits = bits + self.quant.bits(self.synthesis, noise=mode == "soft")
        return out, bits

    def clamp_(self) -> None:
        with torch.no_grad():
            self.latents.clamp_(-Q, Q)

    def codes(self) -> list[np.ndarray]:
        """The rounded latents of each level (int64, ``(1, h, w)``), what the stream codes."""
        rounded = torch.round(self.latents.detach()).clamp(-Q, Q).to(torch.int64).cpu()
        return [y.numpy() for y in self.levels(rounded)]

    def estimated_bits(self) -> float:
        with torch.no_grad():
            bits = float(self.rate.bits(torch.round(self.latents), self.context))
            return bits + (float(self.quant.bits(self.synthesis, noise=False)) if self.networks else 0.0)


class _FrameTrainee:
    """One frame's parts under training as the runner's trainee: the frame composed from the parts
    and the references, its loss ``MSE + lambda * bits / pixels``."""

    def __init__(self, parts: dict[str, PartTrainable], references: list[torch.Tensor], target: torch.Tensor,
                 lmbda: float, config: MotionConfig, networks: bool) -> None:
        self.parts, self.references, self.target = parts, references, target
        self.lmbda, self.config, self.networks = lmbda, config, networks
        self.height, self.width = target.shape[2], target.shape[3]

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {"latents": [p.latents for p in self.parts.values()]}
        if self.networks:
            groups["networks"] = [q for p in self.parts.values() if p.networks for q in p.network_parameters()]
            groups["steps"] = [q for p in self.parts.values() if p.networks for q in p.step_parameters()]
        return groups

    def step(self, at: StepAt) -> StepLoss:
        outputs, bits = {}, torch.zeros(())
        for role, part in self.parts.items():
            outputs[role], b = part(at.mode, at.temperature)
            bits = bits + b
        frame = compose(outputs, self.references, self.config, self.height, self.width)
        mse = F.mse_loss(frame, self.target)
        bpp = bits / (self.height * self.width)
        loss = mse + self.lmbda * bpp
        return StepLoss(loss, float(loss.detach()), float(mse.detach()), float(bpp.detach()))

    def after_step(self) -> None:
        for part in self.parts.values():
            part.clamp_()

    def state_dict(self) -> dict:
        return nn.ModuleDict(self.parts).state_dict()

    def load_state_dict(self, state: dict) -> None:
        nn.ModuleDict(self.parts).load_state_dict(state)


class _GuideTrainee:
    """A motion part fitted to optical-flow targets ``(1, C, h, w)`` (in :data:`FLOW_UNIT`s; a B
    frame's blending channel to 0: equal weights), float latents, no rate."""

    def __init__(self, part: PartTrainable, target: torch.Tensor) -> None:
        self.part, self.target = part, target

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {"latents": [self.part.latents]}
        if self.part.networks:
            groups["networks"] = list(self.part.synthesis.parameters())
        return groups

    def step(self, at: StepAt) -> StepLoss:
        out, _ = self.part("none", None)
        mse = F.mse_loss(out, self.target)
        return StepLoss(mse, float(mse.detach()), float(mse.detach()), 0.0)

    def after_step(self) -> None:
        self.part.clamp_()

    def state_dict(self) -> dict:
        return self.part.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.part.load_state_dict(state)


class PeriodReader:
    """The source's frames an intra period at a time: frames ``p * period .. (p + 1) * period``
    (both anchors) for a frame inside period ``p``."""

    def __init__(self, source: FrameSource, period: int) -> None:
        self.source, self.period = source, period
        self.total = source.geometry.num_frames
        self.first, self.frames = 0, np.zeros((0,), dtype=np.uint8)

    def frame(self, display: int) -> np.ndarray:
        if not self.first <= display < self.first + len(self.frames):
            p = max(0, display - 1) // self.period
            self.first = p * self.period
            self.frames = self.source.read(self.first, min(self.total, self.first + self.period + 1) - self.first)
        return self.frames[display - self.first]


@dataclass(frozen=True)
class CodedResult:
    """One coded frame: what the encoder reports of it, its chunk and its decoded frame."""

    result: GroupResult
    payload: bytes
    decoded: np.ndarray


class MotionEncoder:
    """Encodes one video's frames in coding order, keeping each frame type's networks and each
    part's last latents from one frame to the next."""

    def __init__(self, config: MotionConfig, enc: EncodeConfig, height: int, width: int, total: int,
                 device: torch.device, ladder: Laddered) -> None:
        self.config, self.enc, self.device = config, enc, device
        self.height, self.width, self.total = height, width, total
        torch.manual_seed(enc.seed)
        rung = quality_rung(enc, ladder.ladder)
        self.intra_steps = step_limit(enc.options, ladder.ladder_steps(rung.length, total))
        self.lmbda = rate_lambda(enc, rung)
        self.flow = enc.options.flow or DEFAULT_FLOW
        self.warm = not enc.options.cold
        self.parts: dict[str, PartTrainable] = {}
        self.networks: dict[str, RoleNetworks] = {}
        self.spent = 0.0

    def part(self, role: str) -> PartTrainable:
        if role not in self.parts:
            self.parts[role] = PartTrainable(part_shape(self.config, role), self.config, self.height,
                                             self.width).to(self.device)
        return self.parts[role]

    def budget(self, steps: int, remaining_steps: int) -> float | None:
        budget = self.enc.options.time_budget
        if budget is None:
            return None
        return max(1e-3, (budget - self.spent) * steps / max(1, remaining_steps))

    def guide(self, coded: CodedFrame, part: PartTrainable, target: np.ndarray, references: list[np.ndarray],
              position: int) -> int:
        """Fit a motion part to the optical flow from ``target`` to its references (steps taken)."""
        if self.flow == "none":
            return 0
        h, w = part.part.grid(self.height, self.width)
        goal = torch.from_numpy(flow_targets(target, references, self.flow, (h, w), part.part.out)).to(self.device)
        trainee = _GuideTrainee(part, goal / FLOW_UNIT)
        preset = presets.GUIDE if part.networks else presets.GUIDE_LATER
        torch.manual_seed(self.enc.seed * 100_003 + position)
        result = run(trainee, preset, Limits(presets.GUIDE_STEPS), whole=True,
                     desc=f"motion frame {coded.display} flow", progress=False)
        return result.steps

    def code(self, coded: CodedFrame, position: int, target: np.ndarray, references: list[np.ndarray],
             remaining_steps: int) -> CodedResult:
        """Train frame ``coded`` on ``target`` against its decoded ``references``, write its chunk
        and decode it as the decoder will."""
        start = time.perf_counter()
        roles = PARTS[coded.letter]
        parts = {role: self.part(role) for role in roles}
        networks = any(p.networks for p in parts.values())
        for part in parts.values():
            part.start(self.device, self.warm)
        refs = [from_uint8(r, self.device) for r in references]
        guided = 0
        if coded.letter != "I":
            guided = self.guide(coded, parts[roles[0]], target, references, position)
        steps = step_limit(self.enc.options, presets.frame_steps(self.intra_steps, coded.letter == "I",
                                                                 coded.depth, networks))
        lmbda = presets.frame_lambda(self.lmbda, coded.depth)
        trainee = _FrameTrainee(parts, refs, from_uint8(target, self.device), lmbda, self.config, networks)
        torch.manual_seed(self.enc.seed * 100_003 + position)
        trained = run(trainee, presets.FIRST if networks else presets.LATER,
                      Limits(steps, self.budget(steps, remaining_steps)), whole=True,
                      desc=f"motion frame {coded.display} ({coded.letter})", progress=self.enc.progress)
        estimated = sum(p.estimated_bits() for p in parts.values())
        records, outputs = [], {}
        with torch.no_grad():
            for role, part in parts.items():
                record, output = self.export(role, part)
                records.append(record)
                outputs[role] = output
            decoded = to_uint8(compose(outputs, refs, self.config, self.height, self.width))
        for part in parts.values():
            if part.networks:
                part.freeze_networks()
        payload = write_frame(FrameRecord(steps=trained.steps + guided, parts=tuple(records)))
        seconds = time.perf_counter() - start
        self.spent += seconds
        codes = [c for p in parts.values() for c in p.codes()]
        nonzero = sum(int(np.count_nonzero(c)) for c in codes) / max(1, sum(c.size for c in codes))
        psnr = float(psnr_rgb(target[None], decoded[None]).mean())
        result = GroupResult(group=position, first=coded.display, frames=1, key=coded.letter == "I",
                             steps=trained.steps, stopped=trained.stopped, seconds=seconds, bytes=len(payload),
                             bpp=len(payload) * 8 / (self.height * self.width), nonzero=nonzero, psnr=psnr,
                             estimated_bits=estimated)
        return CodedResult(result, payload, decoded)

    def export(self, role: str, part: PartTrainable) -> tuple[PartRecord, torch.Tensor]:
        """A part's record (its latents' words; its networks in the first frame of its type) and
        its output as the decoder computes it, from the codes."""
        config = self.config
        if part.networks:
            quantized = part.quant.export(part.synthesis)
            self.networks[role] = RoleNetworks(
                synthesis=tuple(q.codes.astype(np.int64) for q in quantized),
                steps=np.asarray([float(q.scales[0]) for q in quantized], dtype=np.float32),
                context=tuple(part.context.codes()))
        nets = self.networks[role]
        integer = IntegerContext.from_codes(SCHEME, list(nets.context), config.ctx_hidden, config.ctx_layers,
                                            part.part.levels)
        codes = part.codes()
        record = PartRecord(
            synthesis_steps=nets.steps if part.networks else None,
            synthesis=nets.synthesis if part.networks else None,
            context=nets.context if part.networks else None,
            levels=tuple(encode_level(c, integer, k) for k, c in enumerate(codes)))
        net = load_synthesis(part_net(part.part).to(self.device), list(nets.synthesis), nets.steps)
        output = part_output(net, [torch.from_numpy(c).to(self.device) for c in codes], part.part, self.height,
                             self.width)
        return record, output


def encode(config: MotionConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink, device: torch.device,
           ladder: Laddered, on_frame: Callable[[int, np.ndarray], None] | None = None) -> FamilyStats:
    """Every frame's chunk through ``sink``, in coding order, under one progress bar;
    ``on_frame(display, frame)`` sees each frame as the encoder decoded it (what later frames are
    predicted from, and what the decoder must give: tests/codec/test_motion.py)."""
    geometry = source.geometry
    structure = coding_structure(config, geometry.num_frames)
    encoder = MotionEncoder(config, enc, geometry.height, geometry.width, geometry.num_frames, device, ladder)
    reader = PeriodReader(source, config.intra_period)
    depth = max(f.depth for f in structure.frames)
    references: ReferenceFrames[np.ndarray] = ReferenceFrames(structure, depth + 4)
    firsts = {f.letter: i for i, f in reversed(list(enumerate(structure.frames)))}
    planned = [presets.frame_steps(encoder.intra_steps, f.letter == "I", f.depth, firsts[f.letter] == i)
               for i, f in enumerate(structure.frames)]
    results: list[GroupResult] = []
    total_bits, frame_steps = 0.0, 0.0
    with tqdm(total=geometry.num_frames, desc="motion", unit="frame", disable=not enc.progress, leave=False) as bar:
        for position, coded in enumerate(structure.frames):
            coded_frame = encoder.code(coded, position, reader.frame(coded.display),
                                       [references.get(r) for r in coded.refs], sum(planned[position:]))
            sink(CHUNK_FRAME, coded_frame.payload)
            if on_frame is not None:
                on_frame(coded.display, coded_frame.decoded)
            references.put(coded.display, coded_frame.decoded)
            references.release(position)
            result = coded_frame.result
            results.append(result)
            total_bits += result.estimated_bits
            frame_steps += result.steps
            bar.set_postfix_str(f"frame {coded.display} {coded.letter}: {result.bytes} B, {result.psnr:.2f} dB",
                                refresh=False)
            bar.update(1)
    return FamilyStats.of_groups(results, encoder.spent, total_bits, frame_steps, encoder.lmbda)
