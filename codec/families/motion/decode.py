"""Decoder side of ``motion``: the coding structure read from the config, each frame's chunk, the
networks of each frame type (stored with its first frame), and the frames decoded in coding
order from the references they need. Nothing here trains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_FRAME
from bitstream.records.motion import FrameRecord, PartLayout, PartRecord, read_frame
from codec.family import ChunkSource, Decoder, Geometry
from codec.families.grid.net import load_synthesis
from codec.families.motion.config import MotionConfig
from codec.families.motion.net import PARTS, ROLES, SCHEME, decoder_macs, part_net, part_shape, synthesis_shapes
from codec.families.motion.render import PartRows, render_frame
from codec.tools.chain import ChainDecoder, ReferenceFrames
from codec.tools.framesampler import FrameSampler
from codec.tools.latentgrid import (
    IntegerContext,
    context_shapes,
    decode_levels,
    decode_pyramid,
    encode_level,
    encode_pyramid,
    max_words,
)
from codec.tools.structure import CodedFrame, CodingStructure, low_delay, random_access


@dataclass(frozen=True)
class RoleNetworks:
    """A frame type's part networks as its first frame stores them: synthesis codes and steps,
    context codes."""

    synthesis: tuple[np.ndarray, ...]
    steps: np.ndarray
    context: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class FrameState:
    """What a frame's chunk leaves decoded: the networks of every part role known so far on its
    chain (its own and those of the first frame of its type) and its record."""

    networks: dict[str, RoleNetworks]
    record: FrameRecord


def frame_chunks(stream: ChunkSource) -> list[int]:
    return [i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_FRAME]


def coding_structure(config: MotionConfig, frames: int) -> CodingStructure:
    """The stream's frames in coding order, one chunk each: random access (intra every
    ``intra_period``, hierarchical B frames) or low delay. The first frame of each type (I, P, B)
    stores its type's networks (its chunk is ``direct``); a later frame builds on that frame's
    chunk (its ``base``), an intra frame on the first one."""
    plan = (random_access(frames, config.intra_period) if config.structure_name == "ra"
            else low_delay(frames, config.intra_period))
    first: dict[str, int] = {}
    chunks = []
    for chunk, frame in zip(plan.chunks, plan.frames):
        letter = frame.letter
        base = first.get(letter)
        if base is None:
            first[letter] = chunk.index
        chunks.append(replace(chunk, base=base, direct=base is None or letter == "I"))
    return CodingStructure(plan.frames, tuple(chunks), plan.name)


def structure(config: MotionConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
    """:func:`coding_structure` of the stream's frames, once its chunks are counted (one per frame:
    a header may claim ten million frames in a few bytes)."""
    found = len(frame_chunks(stream))
    if found != geometry.num_frames:
        raise BitstreamError(f"stream holds {found} frame chunks for its {geometry.num_frames} frames")
    return coding_structure(config, geometry.num_frames)


def layouts(config: MotionConfig, geometry: Geometry) -> dict[str, PartLayout]:
    """Each role's :class:`PartLayout` on frames of this geometry."""
    out = {}
    for role in ROLES:
        part = part_shape(config, role)
        ctx = context_shapes(SCHEME, config.ctx_hidden, config.ctx_layers, part.levels)
        words = tuple(max_words(s) for s in part.shapes(geometry.height, geometry.width))
        out[role] = PartLayout(tuple(synthesis_shapes(part)), tuple(ctx), (sum(words),) if config.part_stream else words)
    return out


def part_words(codes: list[np.ndarray], context: IntegerContext, config: MotionConfig) -> tuple[np.ndarray, ...]:
    """A part's latent levels as the stream holds them: one ANS stream (``part_stream``) or one
    per level."""
    if config.part_stream:
        return (encode_pyramid(list(codes), context),)
    return tuple(encode_level(c, context, k) for k, c in enumerate(codes))


def part_levels(record: PartRecord, networks: RoleNetworks, role: str, config: MotionConfig, height: int,
                width: int, device: torch.device, chunk: int | None = None) -> list[torch.Tensor]:
    """A part's latent levels (integer tensors ``(1, h, w)``), decoded under its type's context model."""
    part = part_shape(config, role)
    context = IntegerContext.from_codes(SCHEME, list(networks.context), config.ctx_hidden, config.ctx_layers,
                                        part.levels)
    shapes = part.shapes(height, width)
    grids = decode_pyramid(record.levels[0], shapes, context, chunk) if config.part_stream \
        else decode_levels(list(record.levels), shapes, context, chunk)
    return [torch.from_numpy(y).to(device) for y in grids]


class MotionDecoder(Decoder):
    """Renders frame ranges: the frames the range needs (its frames and their references,
    transitively, from the intra frame before it: :meth:`CodingStructure.needed`) decoded in coding
    order, each from the decoded references it names, and handed on in display order."""

    def __init__(self, config: MotionConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> None:
        self.config, self.geometry, self.stream, self.device = config, geometry, stream, device
        self.chunk_index = frame_chunks(stream)
        self.structure = structure(config, geometry, stream)
        self.layouts = layouts(config, geometry)
        self.nets = {role: part_net(part_shape(config, role)).to(device).eval() for role in ROLES}
        self.chain = ChainDecoder(self.structure, self._step)

    def record(self, chunk: int) -> FrameRecord:
        frame = self.structure.frames[chunk]
        index = self.chunk_index[chunk]
        return read_frame(self.stream.read_chunk(index), [self.layouts[r] for r in PARTS[frame.letter]], index,
                          self.stream.chunks[index].payload_offset)

    def _step(self, base: FrameState | None, chunk: int) -> FrameState:
        record = self.record(chunk)
        networks = dict(base.networks) if base is not None else {}
        for role, part in zip(PARTS[self.structure.frames[chunk].letter], record.parts):
            if part.networks:
                networks[role] = RoleNetworks(part.synthesis, part.synthesis_steps, part.context)
            elif role not in networks:
                raise BitstreamError(f"the first {role} part carries no networks", chunk=self.chunk_index[chunk])
        return FrameState(networks, record)

    def frame(self, coded: CodedFrame, references: list[np.ndarray]) -> np.ndarray:
        """One frame ``(H, W, 3)`` uint8 from its chunk and its decoded references, rendered in
        strips (:func:`codec.families.motion.render.render_frame`): every part's latents decoded,
        then each strip's rows of the parts and of the prediction."""
        height, width = self.geometry.height, self.geometry.width
        state = self.chain.state(coded.chunk)
        with torch.inference_mode():
            parts = {}
            for role, record in zip(PARTS[coded.letter], state.record.parts):
                networks = state.networks[role]
                levels = part_levels(record, networks, role, self.config, height, width, self.device,
                                     self.chunk_index[coded.chunk])
                net = load_synthesis(self.nets[role], list(networks.synthesis), networks.steps)
                parts[role] = PartRows.of(net, levels, part_shape(self.config, role), height, width)
            samplers = [FrameSampler(r, self.device) for r in references]
            return render_frame(parts, samplers, self.config, height, width)

    def render(self, start: int, stop: int) -> Iterator[np.ndarray]:
        needed = self.structure.needed(start, stop)
        depth = max((f.depth for f in self.structure.frames), default=0)
        references: ReferenceFrames[np.ndarray] = ReferenceFrames(self.structure, depth + 4)
        position = {f.display: i for i, f in enumerate(self.structure.frames)}
        ready: dict[int, np.ndarray] = {}
        at = start
        for display in needed.frames:
            coded = self.structure.frame(display)
            frame = self.frame(coded, [references.get(r) for r in coded.refs])
            references.put(display, frame)
            references.release(position[display])
            if start <= display < stop:
                ready[display] = frame
            while at in ready:
                yield ready.pop(at)[None]
                at += 1


def frame_table(decoder: MotionDecoder) -> str:
    """The per-frame table of ``inrv info``: coding order, display index, type, depth, training
    steps, bytes and bpp, then the bytes of each part's networks and latents (motion ``mv``,
    residual ``res``, intra ``img``); and the decoder's multiply-adds per pixel, counted from the
    shapes."""
    geometry = decoder.geometry
    pixels = geometry.width * geometry.height
    lines = [f"{'order':>5} {'frame':>5} {'type':>4} {'depth':>5} {'steps':>6} {'bytes':>7} {'bpp':>7} "
             f"{'nets':>6} {'img':>7} {'mv':>6} {'res':>7}"]
    totals = {"nets": 0, "img": 0, "mv": 0, "res": 0}
    for chunk, coded in enumerate(decoder.structure.frames):
        index = decoder.chunk_index[chunk]
        record = decoder.record(chunk)
        nbytes = decoder.stream.chunks[index].total
        sizes = {"nets": 0, "img": 0, "mv": 0, "res": 0}
        for role, part in zip(PARTS[coded.letter], record.parts):
            key = "img" if role == "intra" else "mv" if role.endswith("motion") else "res"
            sizes["nets"] += part.parts[0]
            sizes[key] += sum(part.parts[1:])
        for k in totals:
            totals[k] += sizes[k]
        lines.append(f"{chunk:>5} {coded.display:>5} {coded.letter:>4} {coded.depth:>5} {record.steps:>6} "
                     f"{nbytes:>7} {nbytes * 8 / pixels:>7.4f} {sizes['nets']:>6} {sizes['img']:>7} "
                     f"{sizes['mv']:>6} {sizes['res']:>7}")
    lines.append(f"{'all':>5} {'':>5} {'':>4} {'':>5} {'':>6} "
                 f"{sum(decoder.stream.chunks[i].total for i in decoder.chunk_index):>7} {'':>7} "
                 f"{totals['nets']:>6} {totals['img']:>7} {totals['mv']:>6} {totals['res']:>7}")
    macs = decoder_macs(decoder.config, geometry.height, geometry.width)
    lines.append("decoder: " + ", ".join(f"{letter} frames {m:.0f}" for letter, m in macs.items())
                 + f" multiply-adds per pixel; motion compensation {decoder.config.interp_name}")
    return "\n".join(lines)
