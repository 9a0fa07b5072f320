"""``nirvana``: NIRVANA (Maiya et al., "NIRVANA: Neural Implicit Representations of Videos with
Adaptive Networks and Autoregressive Patch-wise Modeling", CVPR 2023).

The video is cut into groups of ``gop`` frames (the last one may be shorter). Each group gets a
small patch-wise network (:mod:`codec.models.nirvana_net`): patch coordinates in, that patch in
every frame of the group out. Groups are encoded in order, each one streamed: read its frames,
fit, write its chunk, drop it, so memory does not grow with the video's length.

* **Autoregressive initialisation**: group ``g`` starts from group ``g - 1``'s trained latents,
  decoders and entropy models; group 0 gets the long schedule (``--steps``, default
  :data:`DEFAULT_STEPS`), later groups at most :data:`LATER_STEPS_FRACTION` of it.
* **Quantization in training** (:mod:`codec.models.residual`): integer latents with learned
  per-layer decoders (scale/shift, and a per-kernel linear map for the convolutions),
  straight-through rounding, rate term = bits of the latents
  (group 0) or of their residual to the previous group (later groups).
* **Residual stream**: one ``CHUNK_GROUP`` chunk per group holding the group's training steps,
  its decoders only when they changed (group 0; they are frozen afterwards, a flag says so) and
  its latents minus the previous group's, each tensor entropy coded with the bitstream's cheapest
  model (an all-zero tensor costs a few bytes).
* **Adaptive effort**: a later group first measures the inherited network on its frames; if that
  already reaches group 0's quality (static content) it is not trained at all and its residual is
  zero. Otherwise it trains until it reaches that quality or its loss stops improving for
  :data:`PATIENCE` steps.
* **Random access**: decoding frames of group ``g`` adds the residuals of groups ``0..g``
  (integer adds, no rendering) and renders only the groups asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bitstream import BitstreamError
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.family import (
    CHUNK_GROUP,
    ChunkSink,
    ChunkSource,
    Decoder,
    Family,
    FamilyStats,
    FrameSource,
    Geometry,
)
from codec.fit import FitConfig, fit
from codec.metrics import psnr_rgb
from codec.models.blocks import count_params, fit_width
from codec.models.nerv import pe_levels_for
from codec.models.nirvana_net import NirvanaConfig, NirvanaNet, PatchGrid, render_group
from codec.models.residual import (
    GROUP_HEAD_BYTES,
    MAX_CODE,
    GroupRecord,
    LatentNetwork,
    LayerDecoder,
    read_group,
    read_group_head,
    write_group,
)
from codec.registry import FAMILY_IDS, register
from codec.results import GroupResult

DEFAULT_GOP = 8
#: Patch side in pixels for frames of at least SMALL_FRAME_PIXELS pixels; SMALL_FRAME_PATCH below.
#: Measured against 16 (400 steps, one thread, 2026-11-26): carphone 120 (176x144) BD-rate -3.2%
#: (24.92 / 25.88 / 26.69 / 27.02 dB at 0.0390 / 0.0586 / 0.0895 / 0.1185 bpp) in the same time;
#: bikes 64 (640x272) -31% (26.47 / 27.22 / 27.97 dB at 0.0368 / 0.0606 / 0.0914 bpp, against
#: 26.01 / 26.62 / 26.57 dB at 0.0429 / 0.0568 / 0.0890), 24% more time per step; bigbuckbunny
#: 720p, 16 frames, 25.88 dB at 0.119 bpp against 21.19 dB at 0.139. Smaller patches give the stem
#: more positions and the trunk fewer upsampling stages to learn.
DEFAULT_PATCH = 8
#: Frames smaller than this (about 128 x 128) keep 16-pixel patches: carphone shrunk to 88x72 (16
#: frames, 300 steps, the example report's setting) lost 1.4-2.3 dB at every quality with patch 8
#: (3k-value group networks; 1-2 dB at equal rate), e.g. 23.24 against 25.22 dB at quality 8.
SMALL_FRAME_PIXELS = 128 * 128
SMALL_FRAME_PATCH = 16
DEFAULT_STEPS = 400
LATER_STEPS_FRACTION = 0.25
PATIENCE = 60
MIN_LATER_STEPS = 10
LR = 4e-2
#: SIREN frequency of the stem's sine activations, x100 (2.0 measured +0.5 dB over 1.0 on carphone).
OMEGA = 200
LATER_LR = 4e-2
#: Named sizes: stored values of one group's network per pixel of a group (``gop`` frames), so
#: that bigger frames get proportionally bigger networks; clamped to [MIN_VALUES, MAX_VALUES].
PRESETS: dict[str, float] = {"xs": 0.03, "s": 0.06, "m": 0.12, "l": 0.25, "xl": 0.5}
DEFAULT_PRESET = "s"
MIN_VALUES, MAX_VALUES = 2_000, 5_000_000
#: Divergence guard of the fitting loop (on each step's loss when the whole group is trained every
#: step, on the running loss when steps train on subsets of patches): fast rates are close to
#: unstable for the sine stem. Bikes (640x272, subsets), group 0 at lambda 3.5e-3: the loss
#: collapses near step 90 (25.7 -> 17.9 dB); unguarded the group ends at 26.3 dB, guarded at 32.1.
#: Measured: at 1.15 the guard also fired on harmless bumps (the first steps of later groups; 16%
#: at small lambdas: carphone at 88x72, lambda 2e-4, 4 restarts and 23.7 dB against 25.3 dB
#: without the guard); at 1.5 it stays quiet there and still catches the collapses of lr 0.15
#: (11.7 dB without a guard, 26.6 with it).
SPIKE_GUARD = 1.5
#: The same remedy when the running MSE rises above this many times its lowest (3 dB down): the rate
#: term and the fast rate wrecking the weights together, which the loss shows less, since the bits
#: fall as the distortion jumps (``FitConfig.collapse_guard``). Bikes 64 at preset m, lambda 3e-2:
#: group 0 fell from 23.6 dB (step 57) to 15.4 (step 100) with a loss 1.4x its best, unguarded
#: the clip ended at 16.50 dB in 115,565 bytes, guarded at 25.56 dB in 83,530. At preset s it is
#: silent on carphone 120 (four lambdas: byte-identical files) and on bikes 64 at lambda 1.5e-2 and
#: 3.5e-3; at 3e-2 it fires once: 25.96 dB at 60,117 bytes against 25.87 at 59,827.
COLLAPSE_GUARD = 2.0
#: Learned per-kernel linear maps in the decoders of the convolutions (residual.LatentTensor).
#: Measured, lambda 3.5e-3 / 1.5e-2, 400 steps: carphone +0.15 / +0.34 dB at +0.4% / +2% bytes
#: (maps included); bikes group 0: 9% fewer bits for 0.1 dB less.
KERNEL_MAPS = True
#: A scene cut: consecutive frames further apart than this (PSNR-RGB, dB) end a group there, and the
#: group after the cut trains on group 0's schedule, since the previous group's network holds
#: another scene. Bikes' cut (frames 29/30) is 7.9 dB; its fastest motion is 19 dB per frame.
CUT_PSNR = 12.0
#: Patches per training step: the whole grid up to this many pixels per frame (each patch with all
#: of the group's frames).
BATCH_PIXELS = 65536


def group_plan(num_frames: int, gop: int) -> list[tuple[int, int]]:
    """``(first frame, frame count)`` of each group when no scene cut shortens one; the last group
    may be shorter."""
    return [(first, min(gop, num_frames - first)) for first in range(0, num_frames, gop)]


def scene_cuts(frames: np.ndarray, previous: np.ndarray | None, threshold: float = CUT_PSNR) -> list[int]:
    """Indices ``i`` of ``frames`` (n, H, W, 3) where a new scene starts: frame ``i - 1`` (for
    ``i = 0``, ``previous``, the frame before them) is less than ``threshold`` dB PSNR away."""
    seq = frames if previous is None else np.concatenate([previous[None], frames])
    if len(seq) < 2 or threshold <= 0:
        return []
    apart = psnr_rgb(seq[1:], seq[:-1]) < threshold
    offset = 0 if previous is None else 1
    return [int(i) + 1 - offset for i in np.flatnonzero(apart)]


@dataclass(frozen=True)
class FrameGroup:
    """One group of frames as the encoder reads it: frames ``first .. first + len(frames) - 1``;
    ``regular`` frames unless a scene cut ended it early; ``cut``: a new scene starts with it."""

    first: int
    frames: np.ndarray
    regular: int
    cut: bool


def read_groups(source: FrameSource, gop: int, threshold: float = CUT_PSNR) -> Iterator[FrameGroup]:
    """The source's frames group by group: up to ``gop`` frames each (``min(gop, frames left)``),
    ended early by a scene cut inside them (:func:`scene_cuts`, ``threshold`` dB). It reads at most
    ``gop`` frames ahead, so memory holds about two groups' frames whatever the video's length."""
    geometry = source.geometry
    total = geometry.num_frames
    pending = np.empty((0, geometry.height, geometry.width, 3), dtype=np.uint8)
    last: np.ndarray | None = None
    first = 0
    while first < total:
        regular = min(gop, total - first)
        if len(pending) < regular:
            pending = np.concatenate([pending, source.read(first + len(pending), regular - len(pending))])
        cuts = scene_cuts(pending[:regular], last, threshold)
        count = next((i for i in cuts if i > 0), regular)
        frames, pending = pending[:count], pending[count:]
        yield FrameGroup(first, frames, regular, 0 in cuts)
        last, first = frames[-1], first + count


def default_patch(width: int, height: int) -> int:
    """The patch side ``--patch`` defaults to for frames of ``width x height``."""
    return DEFAULT_PATCH if width * height >= SMALL_FRAME_PIXELS else SMALL_FRAME_PATCH


def patch_strides(patch: int) -> tuple[int, ...]:
    """Upsampling strides (2s first, then 3s and 5s) taking a base map of side <= 4 to ``patch``
    (at least one stage: a 4-pixel patch grows from a 2 x 2 map)."""
    strides, rest = [], patch
    for s in (2, 3, 5):
        while rest % s == 0 and (rest > 4 or (not strides and rest > s)):
            strides.append(s)
            rest //= s
    if not strides:
        raise ConfigError(f"--patch {patch} cannot be reached by upsampling: use a multiple of 4 (e.g. 8 or 16)")
    return tuple(strides)


def batch_for(grid: PatchGrid) -> int:
    return min(grid.count, max(1, BATCH_PIXELS // (grid.patch * grid.patch)))


class GroupTrainable(nn.Module):
    """The network under training for the current group (a :class:`codec.fit.Fittable`)."""

    def __init__(self, cfg: NirvanaConfig, grid: PatchGrid) -> None:
        super().__init__()
        self.latents = LatentNetwork(NirvanaNet(cfg, grid), kernel_maps=KERNEL_MAPS)
        self.frames = cfg.gop

    def render(self, idx: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.latents(idx)[:, : 3 * self.frames]  # (B, 3 frames, P, P), like the targets

    def rate_bits(self, noise: bool) -> torch.Tensor:
        return self.latents.bits(noise)


class NirvanaFamily(Family):
    name = "nirvana"
    family_id = FAMILY_IDS["nirvana"]
    options = frozenset({"gop", "patch", "scene_cut"})
    config_cls = NirvanaConfig

    def build_config(self, width: float, gop: int, patch: int, grid: PatchGrid) -> NirvanaConfig:
        strides = patch_strides(patch)
        first = max(4, round(24 * width))
        return NirvanaConfig(
            gop=gop,
            patch=patch,
            pe_levels=pe_levels_for(max(grid.rows, grid.cols)),
            hidden=max(8, round(64 * width)),
            mlp_layers=2,
            c0=first,
            channels=tuple(max(4, round(first / 1.4 ** (i + 1))) for i in range(len(strides))),
            strides=strides,
            omega=OMEGA,
        )

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> NirvanaConfig:
        gop = enc.gop or DEFAULT_GOP
        patch = enc.patch or default_patch(geometry.width, geometry.height)
        if gop > 64:
            raise ConfigError(f"--gop must be at most 64 for nirvana, got {gop}")
        gop = min(gop, geometry.num_frames)  # a clip shorter than a group: no unused frame outputs
        if patch > 256:
            raise ConfigError(f"--patch must be at most 256, got {patch}")
        grid = PatchGrid(geometry.height, geometry.width, patch)
        if enc.params is not None:
            budget = enc.params
        else:
            preset = enc.preset or DEFAULT_PRESET
            if preset not in PRESETS:
                raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
            pixels = grid.count * patch * patch * gop
            budget = int(min(MAX_VALUES, max(MIN_VALUES, PRESETS[preset] * pixels)))

        def build(m: float) -> nn.Module:
            with torch.device("meta"):
                return NirvanaNet(self.build_config(m, gop, patch, grid), grid)

        return self.build_config(fit_width(build, budget), gop, patch, grid)

    def encode(self, config: NirvanaConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        geometry = source.geometry
        total = geometry.num_frames
        grid = PatchGrid(geometry.height, geometry.width, config.patch)
        torch.manual_seed(enc.seed)
        model = GroupTrainable(config, grid).to(device)
        first_steps = enc.steps or (DEFAULT_STEPS if enc.time_budget is None else 10**9)
        later_steps = max(1, round(first_steps * LATER_STEPS_FRACTION))
        spent, target = 0.0, None
        prev: list[np.ndarray] | None = None
        groups: list[GroupResult] = []
        total_steps, total_bits, total_fs = 0, 0.0, 0.0
        threshold = CUT_PSNR if enc.scene_cut is None else enc.scene_cut
        # the whole video's bar (each group's fit shows its own below it): frames done, the time
        # left at the rate so far, and what the last group gave
        with tqdm(total=total, desc="nirvana", unit="frame", disable=not enc.progress, leave=False,
                  mininterval=0, miniters=1) as bar:
            for g, group in enumerate(read_groups(source, config.gop, threshold)):
                frames, count = group.frames, len(group.frames)
                key = g == 0 or group.cut  # group 0, or the first group of a new scene
                model.frames = count
                if g:
                    model.latents.next_group()
                later_groups = -(-(total - group.first - count) // config.gop)  # at least, after this one
                # a later group first renders the inherited network: if that already reaches the
                # scene's target, it is not trained, and that render is also its measured PSNR
                inherited = not key and (psnr := psnr_of(model, grid, frames, device)) >= target
                if inherited:
                    steps, stopped, seconds, bits = 0, "inherited", 0.0, 0.0
                else:
                    budget = self.group_budget(enc, spent, key, later_groups)
                    fc = self.fit_config(enc, g, key, g + 1 + later_groups, first_steps, later_steps, budget,
                                         None if key else target, grid)
                    stats = fit(model, grid.tubes(frames), fc, device)
                    steps, stopped, seconds, bits = stats.steps, stats.stopped, stats.seconds, stats.estimated_bits
                spent += seconds
                codes = model.latents.codes()
                residuals = codes if prev is None else [c - p for c, p in zip(codes, prev)]
                payload = write_group(GroupRecord(
                    steps=steps,
                    decoders=tuple(model.latents.decoders()) if g == 0 else None,
                    residuals=tuple(residuals),
                    frames=None if count == group.regular else count,
                ))
                sink(CHUNK_GROUP, payload)
                if not inherited:
                    psnr = psnr_of(model, grid, frames, device)
                if key:
                    target = psnr  # the quality the scene's later groups aim for
                nonzero = sum(int(np.count_nonzero(r)) for r in residuals) / sum(r.size for r in residuals)
                groups.append(GroupResult(
                    group=g, first=group.first, frames=count, key=key, steps=steps, stopped=stopped,
                    seconds=seconds, bytes=len(payload),
                    bpp=len(payload) * 8 / (geometry.width * geometry.height * count), nonzero=nonzero, psnr=psnr))
                prev, total_steps, total_bits = codes, total_steps + steps, total_bits + bits
                total_fs += steps * batch_for(grid) * count / grid.count  # frame-equivalents
                bar.set_postfix_str(f"group {g}: {steps} steps, {len(payload)} bytes, {psnr:.2f} dB",
                                    refresh=False)
                bar.update(count)
        return FamilyStats(
            steps=total_steps,
            seconds=spent,
            estimated_bits=total_bits,
            train_psnr=float(np.mean([s.psnr for s in groups])),
            frame_steps_per_second=total_fs / max(spent, 1e-9),
            groups=tuple(groups),
        )

    @staticmethod
    def group_budget(enc: EncodeConfig, spent: float, key: bool, later_groups: int) -> float | None:
        """A group's share of what is left of ``--time-budget`` (None without one): key groups
        weigh 1, later groups :data:`LATER_STEPS_FRACTION`, as their step caps do, counting the
        groups still to come after this one."""
        if enc.time_budget is None:
            return None
        weight = 1.0 if key else LATER_STEPS_FRACTION
        return max(1e-3, (enc.time_budget - spent) * weight / (weight + LATER_STEPS_FRACTION * later_groups))

    @staticmethod
    def fit_config(enc: EncodeConfig, g: int, key: bool, groups: int, first_steps: int, later_steps: int,
                   budget: float | None, target: float | None, grid: PatchGrid) -> FitConfig:
        """Key groups (group 0, the first group after a scene cut): the long schedule. Later
        groups: a short one that also stops at the scene's key-group quality or when the loss
        stops improving."""
        return FitConfig(
            steps=first_steps if key else later_steps,
            time_budget=budget,
            lr=LR if key else LATER_LR,
            step_lr_mult=1.0,  # scales and densities learn at LR (measured: no gain from more)
            entropy_lr_mult=1.0,
            warmup=0.1 if key else 0.02,
            batch=batch_for(grid),
            lmbda=enc.rate_lambda,
            seed=enc.seed + g,
            patience=None if key else PATIENCE,
            spike_guard=SPIKE_GUARD,
            collapse_guard=COLLAPSE_GUARD,
            min_steps=0 if key else MIN_LATER_STEPS,
            target_psnr=target,
            progress=enc.progress,
            desc=f"nirvana group {g + 1}/{groups}",
        )

    def decoder(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                device: torch.device) -> Decoder:
        return NirvanaDecoder(config, geometry, stream, device)

    def describe_chunks(self, stream) -> str:
        """The per-group table of ``inrv info``: frames, training steps, bytes, bpp, and the share
        of non-zero residual latents."""
        header = stream.header
        config = self.unpack(header.model_config)
        geometry = Geometry(header.width, header.height, header.num_frames, header.fps)
        decoder = NirvanaDecoder(config, geometry, stream, torch.device("cpu"))
        lines = [f"{'group':>5} {'frames':>11} {'steps':>7} {'bytes':>9} {'bpp':>9} {'nonzero':>8}"]
        decoders: tuple[LayerDecoder, ...] = ()
        for g, ((first, count), index) in enumerate(zip(decoder.plan, decoder.chunk_index)):
            info = stream.chunks[index]
            record = decoder.record(g)
            nonzero = sum(int(np.count_nonzero(r)) for r in record.residuals)
            share = nonzero / max(1, sum(r.size for r in record.residuals))
            nbytes = info.total
            lines.append(f"{g:>5} {first:>5}..{first + count - 1:<5} {record.steps:>7} {nbytes:>9} "
                         f"{nbytes * 8 / (geometry.width * geometry.height * count):>9.5f} {share:>8.2%}"
                         + ("  ends at a scene cut" if record.frames is not None else ""))
            if record.decoders is not None:
                decoders = record.decoders
        maps = [d.kernel for d in decoders if d.kernel is not None]
        lines.append(f"decoders (in group 0's chunk): scale and shift for {len(decoders)} tensors "
                     f"({8 * len(decoders)} bytes), "
                     + (f"kernel maps for {len(maps)} convolutions ({sum(2 * m.size for m in maps)} bytes)"
                        if maps else "no kernel maps"))
        return "\n".join(lines)


def psnr_of(model: GroupTrainable, grid: PatchGrid, frames: np.ndarray, device: torch.device) -> float:
    """Mean PSNR-RGB of the group's frames as the decoder will render them."""
    return float(psnr_rgb(frames, render_group(model.latents, grid, len(frames), device)).mean())


class NirvanaDecoder(Decoder):
    """Renders frame ranges, keeping the latent chain of the last group it reached."""

    def __init__(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                 device: torch.device) -> None:
        self.stream, self.device = stream, device
        self.grid = PatchGrid(geometry.height, geometry.width, config.patch)
        self.chunk_index = [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_GROUP]
        self.plan = self._plan(geometry.num_frames, config.gop)
        with torch.device("meta"):  # counted before anything is allocated: a hostile config
            values = count_params(NirvanaNet(config, self.grid))  # could ask for gigabytes
        if values > MAX_VALUES * 4:
            raise BitstreamError(f"model config asks for {values} parameters per group")
        self.net = NirvanaNet(config, self.grid).to(device).eval()
        self.shapes = [tuple(p.shape) for p in self.net.parameters()]
        self._reset()

    def _plan(self, total: int, gop: int) -> list[tuple[int, int]]:
        """``(first frame, count)`` of each group chunk: ``min(gop, frames left)`` unless the chunk
        gives its count (a group cut short at a scene cut)."""
        plan, first = [], 0
        for index in self.chunk_index:
            if first >= total:
                break
            info = self.stream.chunks[index]
            # the head only: opening reads a few bytes per group, not the whole file
            # (the chunk's CRC, which covers the head, is checked when the group is decoded)
            _, head = read_group_head(self.stream.read_chunk_head(index, GROUP_HEAD_BYTES), index,
                                      info.payload_offset)
            regular = min(gop, total - first)
            count = regular if head.frames is None else head.frames
            if count > regular:
                raise BitstreamError(f"group chunk holds {count} frames, at most {regular} fit", chunk=index)
            plan.append((first, count))
            first += count
        if first < total:
            raise BitstreamError(f"stream holds {len(self.chunk_index)} group chunks, covering {first} "
                                 f"of its {total} frames")
        if len(plan) != len(self.chunk_index):
            raise BitstreamError(f"stream holds {len(self.chunk_index)} group chunks, its {total} frames "
                                 f"need {len(plan)}")
        return plan

    def _reset(self) -> None:
        self.group = -1
        self.codes = [np.zeros(s, dtype=np.int64) for s in self.shapes]
        self.decoders: tuple[LayerDecoder, ...] | None = None

    def record(self, g: int) -> GroupRecord:
        index = self.chunk_index[g]
        info = self.stream.chunks[index]
        return read_group(self.stream.read_chunk(index), self.shapes, index, info.payload_offset)

    def advance(self, g: int) -> None:
        """Latents of group ``g``: the previous latents plus each residual (integer adds only)."""
        if g < self.group:
            self._reset()
        while self.group < g:
            record = self.record(self.group + 1)
            self.group += 1
            if self.group == 0 and record.decoders is None:
                raise BitstreamError("the first group chunk must carry the decoders", chunk=self.chunk_index[0])
            if record.decoders is not None:
                self.decoders = record.decoders
            self.codes = [c + r for c, r in zip(self.codes, record.residuals)]
            if any(np.abs(c).max(initial=0) >= MAX_CODE for c in self.codes):
                raise BitstreamError("latents out of range", chunk=self.chunk_index[self.group])

    def load(self) -> None:
        """Set the network to the current latents: ``scale * (M code) + shift`` in float32
        (:meth:`LayerDecoder.weights`; ``M`` only for convs with a kernel map)."""
        assert self.decoders is not None
        with torch.no_grad():
            for p, codes, decoder in zip(self.net.parameters(), self.codes, self.decoders):
                p.copy_(decoder.weights(codes))

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        for g, (first, count) in enumerate(self.plan):
            if first + count <= start or first >= stop:
                continue
            self.advance(g)
            self.load()
            frames = render_group(self.net, self.grid, count, self.device)
            yield frames[max(start, first) - first : min(stop, first + count) - first]


register(NirvanaFamily())
