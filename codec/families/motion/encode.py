"""Training side of ``motion``: frames coded one by one in the coding structure's order, each
trained against the decoded references it will be predicted from (closed loop), its chunk
written, its decoded frame kept while later frames reference it.

A frame's parts (:mod:`codec.families.motion.net`) train through the one training runner
(:mod:`codec.tools.runner`) with :mod:`codec.families.motion.presets`: an inter frame's motion
decoder first fitted to an optical flow (:mod:`codec.families.motion.flow`), then every part on
``MSE + lambda * bpp`` of the frame, the rate that of its latents under their context models (and,
in the first frame of its type, of its synthesis weights). Latents start from an already coded frame
of the same type that the frame depends on (NIRVANA's autoregressive initialisation, Maiya et al.,
CVPR 2023, here per frame: :func:`frame_plan`) with ``--warm``; from zero by default.

Each frame is a task (:func:`code_frame` of a :class:`FrameJob`) of :func:`codec.tools.schedule.run_graph`:
frames whose references are coded train at once on ``--jobs`` processes or Ray tasks, and the
chunks are written in coding order as they complete.
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
from codec.families.motion.decode import RoleNetworks, coding_structure, part_words
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
from codec.tools.latentgrid import Q, IntegerContext
from codec.tools.latentgrid.crops import resample
from codec.tools.latentgrid.training import ContextNet, PyramidRate, quantize_proxy
from codec.tools.phases import Limits
from codec.tools.qat import NetworkQuantizer
from codec.tools.runner import StepAt, StepLoss, run
from codec.tools.schedule import Task, run_graph
from codec.tools.structure import CodedFrame, CodingStructure


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

    def start(self, device: torch.device, initial: np.ndarray | None) -> None:
        """The latents a frame starts from: zeros, or ``initial`` (an earlier frame's, flat)."""
        if self.rate is None:
            self.rate = PyramidRate(self.shapes, SCHEME, device)
        start = torch.zeros(sum(self.sizes)) if initial is None else torch.from_numpy(initial).clone()
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
class PartState:
    """A part's networks as the first frame of its type leaves them, for the later frames of the
    type: the trained module's state (float synthesis, its quantizers, the context model's float
    mirror) and the networks as the stream stores them."""

    state: dict[str, torch.Tensor]
    networks: RoleNetworks


@dataclass(frozen=True)
class FrameJob:
    """Everything coding one frame takes (a task of :mod:`codec.tools.schedule`, sent to a worker
    process or a Ray task as it is): the frame, its coding position and place in the structure, its
    source ``target`` and decoded ``references`` (uint8 ``(H, W, 3)``), the level's intra steps and
    lambda, its share of ``--time-budget``, the networks earlier frames of its type trained
    (``trained``, by role; a role missing trains them here) and the latents it starts from (``warm``,
    by role; missing: zeros)."""

    config: MotionConfig
    enc: EncodeConfig
    position: int
    coded: CodedFrame
    target: np.ndarray
    references: tuple[np.ndarray, ...]
    intra_steps: int
    lmbda: float
    budget: float | None
    trained: dict[str, PartState]
    warm: dict[str, np.ndarray]
    progress: bool = False


@dataclass(frozen=True)
class FrameDone:
    """One coded frame: what the encoder reports of it, its chunk, its decoded frame (what later
    frames are predicted from), the networks it trained (the first frame of its type) and its
    parts' latents (what later frames of its type may start from)."""

    result: GroupResult
    payload: bytes
    decoded: np.ndarray
    trained: dict[str, PartState]
    latents: dict[str, np.ndarray]


def _guide(job: FrameJob, part: PartTrainable, device: torch.device) -> int:
    """Fit a motion part to the optical flow from the frame to its references (steps taken)."""
    flow = job.enc.options.flow or DEFAULT_FLOW
    if flow == "none":
        return 0
    h, w = part.part.grid(part.height, part.width)
    goal = torch.from_numpy(flow_targets(job.target, list(job.references), flow, (h, w), part.part.out)).to(device)
    trainee = _GuideTrainee(part, goal / FLOW_UNIT)
    preset = presets.GUIDE if part.networks else presets.GUIDE_LATER
    torch.manual_seed(job.enc.seed * 100_003 + job.position)
    return run(trainee, preset, Limits(presets.GUIDE_STEPS), whole=True,
               desc=f"motion frame {job.coded.display} flow", progress=False).steps


def _export(job: FrameJob, role: str, part: PartTrainable, device: torch.device,
            trained: dict[str, PartState]) -> tuple[PartRecord, torch.Tensor]:
    """A part's record (its latents' words; its networks in the first frame of its type, added to
    ``trained``) and its output as the decoder computes it, from the codes."""
    config = job.config
    if part.networks:
        quantized = part.quant.export(part.synthesis)
        nets = RoleNetworks(synthesis=tuple(q.codes.astype(np.int64) for q in quantized),
                            steps=np.asarray([float(q.scales[0]) for q in quantized], dtype=np.float32),
                            context=tuple(part.context.codes()))
        trained[role] = PartState({k: v.detach().cpu().clone() for k, v in part.state_dict().items()}, nets)
    else:
        nets = job.trained[role].networks
    integer = IntegerContext.from_codes(SCHEME, list(nets.context), config.ctx_hidden, config.ctx_layers,
                                        part.part.levels)
    codes = part.codes()
    record = PartRecord(
        synthesis_steps=nets.steps if part.networks else None,
        synthesis=nets.synthesis if part.networks else None,
        context=nets.context if part.networks else None,
        levels=part_words(codes, integer, config))
    net = load_synthesis(part_net(part.part).to(device), list(nets.synthesis), nets.steps)
    output = part_output(net, [torch.from_numpy(c).to(device) for c in codes], part.part, part.height, part.width)
    return record, output


def code_frame(job: FrameJob) -> FrameDone:
    """Train one frame on its target against its decoded references, write its chunk and decode
    it as the decoder will. The result depends on ``job`` alone (and the thread count), wherever
    it runs."""
    start = time.perf_counter()
    from codec.device import resolve_device

    device = resolve_device(job.enc.device)
    coded, config = job.coded, job.config
    height, width = job.target.shape[:2]
    torch.manual_seed(job.enc.seed * 100_003 + job.position)
    parts: dict[str, PartTrainable] = {}
    for role in PARTS[coded.letter]:
        part = PartTrainable(part_shape(config, role), config, height, width).to(device)
        if role in job.trained:
            part.load_state_dict(job.trained[role].state)
            part.freeze_networks()
        part.start(device, job.warm.get(role))
        parts[role] = part
    networks = any(p.networks for p in parts.values())
    refs = [from_uint8(r, device) for r in job.references]
    guided = _guide(job, parts[PARTS[coded.letter][0]], device) if coded.letter != "I" else 0
    steps = step_limit(job.enc.options, presets.frame_steps(job.intra_steps, coded.letter == "I", coded.depth,
                                                            networks))
    trainee = _FrameTrainee(parts, refs, from_uint8(job.target, device), presets.frame_lambda(job.lmbda, coded.depth),
                            config, networks)
    torch.manual_seed(job.enc.seed * 100_003 + job.position)
    fitted = run(trainee, presets.FIRST if networks else presets.LATER, Limits(steps, job.budget), whole=True,
                 desc=f"motion frame {coded.display} ({coded.letter})", progress=job.progress)
    estimated = sum(p.estimated_bits() for p in parts.values())
    records, outputs, trained = [], {}, {}
    with torch.no_grad():
        for role, part in parts.items():
            record, outputs[role] = _export(job, role, part, device, trained)
            records.append(record)
        decoded = to_uint8(compose(outputs, refs, config, height, width))
    payload = write_frame(FrameRecord(steps=fitted.steps + guided, parts=tuple(records)))
    codes = [c for p in parts.values() for c in p.codes()]
    nonzero = sum(int(np.count_nonzero(c)) for c in codes) / max(1, sum(c.size for c in codes))
    psnr = float(psnr_rgb(job.target[None], decoded[None]).mean())
    seconds = time.perf_counter() - start
    result = GroupResult(group=job.position, first=coded.display, frames=1, key=coded.letter == "I",
                         steps=fitted.steps, stopped=fitted.stopped, seconds=seconds, bytes=len(payload),
                         bpp=len(payload) * 8 / (height * width), nonzero=nonzero, psnr=psnr,
                         estimated_bits=estimated)
    latents = {role: p.latents.detach().cpu().numpy().copy() for role, p in parts.items()}
    return FrameDone(result, payload, decoded, trained, latents)


@dataclass(frozen=True)
class FramePlan:
    """The encode as tasks (:mod:`codec.tools.schedule`): per coding position, the frame that
    trained its type's networks (``first``), the frame whose latents it starts from (``warm``;
    None: zeros) and its planned steps (``steps``)."""

    structure: CodingStructure
    first: tuple[int, ...]
    warm: tuple[int | None, ...]
    steps: tuple[int, ...]

    @property
    def tasks(self) -> list[Task]:
        position = {f.display: i for i, f in enumerate(self.structure.frames)}
        out = []
        for i, f in enumerate(self.structure.frames):
            needs = {position[r] for r in f.refs} | {self.first[i], self.warm[i]}
            out.append(Task(i, tuple(sorted(n for n in needs if n is not None and n != i)), self.steps[i]))
        return out


def frame_plan(structure: CodingStructure, intra_steps: int, warm: bool) -> FramePlan:
    """Which frame trains each type's networks (the first of the type in coding order), which
    frame's latents each frame starts from, and each frame's steps. A frame starts from the latest
    frame of its type (in coding order) among those it depends on, through its references and
    the frame holding its type's networks, transitively (NIRVANA's autoregressive initialisation,
    here per frame, on the structure's graph: the same start for any number of jobs)."""
    frames = structure.frames
    position = {f.display: i for i, f in enumerate(frames)}
    firsts: dict[str, int] = {}
    for i, f in enumerate(frames):
        firsts.setdefault(f.letter, i)
    above: list[set[int]] = []
    starts: list[int | None] = []
    for i, f in enumerate(frames):
        direct = {position[r] for r in f.refs} | ({firsts[f.letter]} - {i})
        closure: set[int] = set(direct)
        for d in direct:
            closure |= above[d]
        above.append(closure)
        same = [j for j in closure if frames[j].letter == f.letter]
        starts.append(max(same) if warm and same else None)
    first = tuple(firsts[f.letter] for f in frames)
    steps = tuple(presets.frame_steps(intra_steps, f.letter == "I", f.depth, first[i] == i)
                  for i, f in enumerate(frames))
    return FramePlan(structure, first, tuple(starts), steps)


def encode(config: MotionConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink, device: torch.device,
           ladder: Laddered, on_frame: Callable[[int, np.ndarray], None] | None = None) -> FamilyStats:
    """Every frame's chunk through ``sink``, in coding order, under one progress bar. Frames run as
    tasks of :func:`codec.tools.schedule.run_graph` on the executor ``enc.jobs`` / ``enc.ray``
    ask for (this process when neither): a frame starts once the frames it needs are coded.
    ``on_frame(display, frame)`` sees each frame as the encoder decoded it (what later frames are
    predicted from, and what the decoder must give: tests/codec/test_motion.py)."""
    from codec.device import configure_threads
    from codec.tools.workers import executor_for

    geometry = source.geometry
    structure = coding_structure(config, geometry.num_frames)
    rung = quality_rung(enc, ladder.ladder)
    intra_steps = step_limit(enc.options, ladder.ladder_steps(rung.length, geometry.num_frames))
    lmbda = rate_lambda(enc, rung)
    plan = frame_plan(structure, intra_steps, warm=bool(enc.options.warm))
    tasks = plan.tasks
    reader = PeriodReader(source, config.intra_period)
    executor = executor_for(enc.jobs, enc.ray, configure_threads(enc.job_threads))
    budget, planned = enc.options.time_budget, sum(plan.steps)
    serial = executor.slots == 1 and enc.ray is None

    def make_input(position: int, results: dict[int, FrameDone]) -> FrameJob:
        coded = structure.frames[position]
        first, warm = plan.first[position], plan.warm[position]
        return FrameJob(
            config=config, enc=enc, position=position, coded=coded, target=reader.frame(coded.display),
            references=tuple(results[position_of[r]].decoded for r in coded.refs),
            intra_steps=intra_steps, lmbda=lmbda,
            budget=None if budget is None else max(1e-3, budget * plan.steps[position] / planned),
            trained={} if first == position else results[first].trained,
            warm={} if warm is None else results[warm].latents,
            progress=enc.progress and serial)

    position_of = {f.display: i for i, f in enumerate(structure.frames)}
    results: list[GroupResult] = []
    most = 0
    with tqdm(total=geometry.num_frames, desc="motion", unit="frame", disable=not enc.progress, leave=False) as bar:
        def consume(position: int, done: FrameDone) -> None:
            coded = structure.frames[position]
            sink(CHUNK_FRAME, done.payload)
            if on_frame is not None:
                on_frame(coded.display, done.decoded)
            results.append(done.result)
            bar.set_postfix_str(f"frame {coded.display} {coded.letter}: {done.result.bytes} B, "
                                f"{done.result.psnr:.2f} dB", refresh=False)
            bar.update(1)

        def running(in_flight: tuple[int, ...]) -> None:
            nonlocal most
            most = max(most, len(in_flight))
            if not serial:
                shown = ", ".join(str(structure.frames[p].display) for p in in_flight)
                bar.set_description_str(f"motion, {len(in_flight)} running ({shown})" if in_flight else "motion")

        run_graph(tasks, code_frame, make_input, consume, executor, running)
    seconds = sum(r.seconds for r in results)
    return FamilyStats.of_groups(results, seconds, sum(r.estimated_bits for r in results),
                                 float(sum(r.steps for r in results)), lmbda, jobs=max(1, most))
