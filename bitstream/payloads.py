"""Chunk payloads: what the chunks of a ``.inrv`` file hold (``docs/bitstream.md`` §9 to §11).

* Chunk kinds (u8 in the chunk frame), permanent like family ids.
* Tensor-list payloads (``nerv`` and ``hnerv`` network and embedding chunks): a count, then
  quantized tensor records (:mod:`bitstream.tensor`).
* Group records (``nirvana``): one group of frames' latents, coded as residuals to the previous
  group's, with the per-tensor decoders (scale, shift, kernel maps) in the first group.
* Segment records (``teconerv``): one segment's modulation codes per layer, as residuals to the
  previous segment's codes or direct, with the per-layer quantization steps in the first.
* Grid records (``grid``): one group of frames' synthesis and context networks as residuals to
  the previous group's, and its latent grids as ANS words (decoded under the context model by
  ``codec.families.grid.context``).

numpy and the standard library only: the torch side (turning decoders into weights) lives in
``codec``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bitstream.entropy import decode_ints, encode_ints
from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import QuantizedTensor, read_ints, read_tensor, write_tensor

__all__ = [
    "CHUNK_NETWORK", "CHUNK_EMBEDDINGS", "CHUNK_GROUP", "CHUNK_SEGMENT", "CHUNK_NAMES",
    "MAX_TENSORS_PER_CHUNK", "pack_tensors", "unpack_tensors",
    "MAX_CODE", "FLAG_DECODERS", "FLAG_KERNEL_MAPS", "FLAG_FRAMES", "FLAG_BARE", "GROUP_HEAD_BYTES",
    "LayerDecoder", "GroupRecord", "GroupHead", "kernel_taps", "write_group", "read_group_head", "read_group",
    "SEG_STEPS", "SEG_DIRECT", "SEG_FINETUNE", "SegmentRecord", "write_segment", "read_segment",
    "CHUNK_GRID", "GRID_STEPS", "GridRecord", "write_grid", "read_grid",
]

#: Chunk kinds (u8 in the stream). Permanent, like family ids: never renumber one.
CHUNK_NETWORK = 1
CHUNK_EMBEDDINGS = 2
CHUNK_GROUP = 3
CHUNK_SEGMENT = 4
CHUNK_GRID = 5
CHUNK_NAMES = {CHUNK_NETWORK: "network", CHUNK_EMBEDDINGS: "embeddings", CHUNK_GROUP: "group",
               CHUNK_SEGMENT: "segment", CHUNK_GRID: "grid"}

MAX_TENSORS_PER_CHUNK = 4096


def pack_tensors(tensors: list[QuantizedTensor]) -> bytes:
    """A tensor-list payload: ``uvarint count``, then each quantized tensor record."""
    w = ByteWriter()
    w.uvarint(len(tensors))
    for t in tensors:
        write_tensor(w, t)
    return w.getvalue()


def unpack_tensors(data: bytes, shapes: list[tuple[int, ...]] | None = None, chunk: int | None = None,
                   base_offset: int = 0) -> list[QuantizedTensor]:
    """Inverse of :func:`pack_tensors`. ``shapes``: the tensors the reader's config implies; a
    payload with another count, or a record of another shape, is refused before its values are
    decoded (a record's claimed size allocates nothing)."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    count = r.uvarint()
    if count > MAX_TENSORS_PER_CHUNK or (shapes is not None and count != len(shapes)):
        raise BitstreamError(f"chunk holds {count} tensors, expected {len(shapes) if shapes else '<= 4096'}",
                             chunk=chunk, offset=base_offset)
    tensors = [read_tensor(r, expect=None if shapes is None else shapes[i]) for i in range(count)]
    r.expect_end()
    return tensors


#: Codes of a tensor must stay within this magnitude (an encoder guard and a decoder check).
MAX_CODE = 2**30
#: The chunk carries the decoders (scale and shift per tensor): group 0's chunk.
FLAG_DECODERS = 1
#: The decoders include one kernel map per multi-tap convolution (only together with FLAG_DECODERS).
FLAG_KERNEL_MAPS = 2
#: The group's frame count follows the steps (groups cut short at a scene cut).
FLAG_FRAMES = 4
#: The latents are bare entropy-coded values, their counts taken from the model config (without
#: this flag each tensor record repeats its shape, as :func:`bitstream.tensor.write_ints` writes it).
FLAG_BARE = 8
_KNOWN_FLAGS = FLAG_DECODERS | FLAG_KERNEL_MAPS | FLAG_FRAMES | FLAG_BARE
#: The most bytes a group chunk's head takes: flags, then two uvarints of at most 10 bytes.
GROUP_HEAD_BYTES = 1 + 10 + 10


def kernel_taps(shape: tuple[int, ...]) -> int:
    """Taps per kernel (``kh * kw``) of a conv weight ``(out, in, kh, kw)`` with more than one tap;
    0 for every other tensor (those have no kernel map)."""
    return shape[2] * shape[3] if len(shape) == 4 and shape[2] * shape[3] > 1 else 0


@dataclass(frozen=True, eq=False)
class LayerDecoder:
    """How one tensor's integer latents ``q`` become weights: ``scale * (M q) + shift`` (``M``:
    the kernel map, float16 values, acting on each ``kh x kw`` kernel; ``None``: the identity)."""

    scale: float
    shift: float
    kernel: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerDecoder) or (self.scale, self.shift) != (other.scale, other.shift):
            return False
        if self.kernel is None or other.kernel is None:
            return self.kernel is other.kernel
        return bool(np.array_equal(self.kernel, other.kernel))

    __hash__ = None  # type: ignore[assignment]  # holds an array


@dataclass(frozen=True)
class GroupRecord:
    """One group's chunk: the steps it trained, decoders (``None``: unchanged), latent residuals,
    and its frame count when it is not the regular one (``None``: ``min(gop, frames left)``)."""

    steps: int
    decoders: tuple[LayerDecoder, ...] | None
    residuals: tuple[np.ndarray, ...]
    frames: int | None = None


@dataclass(frozen=True)
class GroupHead:
    """What a group chunk says before its decoders and latents."""

    flags: int
    steps: int
    frames: int | None


def write_group(record: GroupRecord) -> bytes:
    """``u8 flags | uvarint steps | uvarint frames if flags & 4 | decoders if flags & 1 | values per
    tensor``; the decoders are ``[f32 scale, f32 shift]`` per tensor, then (flags & 2) a ``k x k``
    f16 kernel map per multi-tap convolution, in tensor order; each tensor's residual is its
    values alone (:func:`bitstream.entropy.encode_ints`, flags & 8): the reader knows the shapes."""
    w = ByteWriter()
    decoders = record.decoders
    maps = decoders is not None and any(d.kernel is not None for d in decoders)
    if record.frames is not None and record.frames < 1:
        raise ValueError("a group holds at least one frame")
    w.u8((FLAG_DECODERS if decoders is not None else 0) | (FLAG_KERNEL_MAPS if maps else 0)
         | (FLAG_FRAMES if record.frames is not None else 0) | FLAG_BARE)
    w.uvarint(record.steps)
    if record.frames is not None:
        w.uvarint(record.frames)
    if decoders is not None:
        w.f32_array(np.asarray([(d.scale, d.shift) for d in decoders], dtype=np.float32).reshape(-1))
        if maps:
            for d, residual in zip(decoders, record.residuals):
                taps = kernel_taps(residual.shape)
                if (d.kernel is None) != (taps == 0) or (d.kernel is not None and d.kernel.shape != (taps, taps)):
                    raise ValueError("kernel maps must be given for every multi-tap convolution and only there")
                if d.kernel is not None:
                    w.f16_array(d.kernel)
    for residual in record.residuals:
        w.raw(encode_ints(residual.reshape(-1).astype(np.int64)))
    return w.getvalue()


def read_group_head(data: bytes, chunk: int | None = None, base_offset: int = 0) -> tuple[ByteReader, GroupHead]:
    """The reader positioned after flags, steps and frame count, and those three."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    flags = r.u8()
    if flags & ~_KNOWN_FLAGS or (flags & FLAG_KERNEL_MAPS and not flags & FLAG_DECODERS):
        raise BitstreamError(f"group chunk has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
    steps = r.uvarint()
    frames = r.uvarint() if flags & FLAG_FRAMES else None
    if frames == 0:
        raise BitstreamError("group chunk holds no frames", chunk=chunk, offset=base_offset)
    return r, GroupHead(flags, steps, frames)


def read_group(data: bytes, shapes: list[tuple[int, ...]], chunk: int | None = None,
               base_offset: int = 0) -> GroupRecord:
    """Inverse of :func:`write_group` for a network whose tensors have ``shapes`` (also reads the
    earlier layout without flag 8, whose tensor records carry their shapes)."""
    r, head = read_group_head(data, chunk, base_offset)
    flags = head.flags
    decoders = None
    if flags & FLAG_DECODERS:
        values = r.f32_array(2 * len(shapes)).reshape(-1, 2)
        kernels: list[np.ndarray | None] = [None] * len(shapes)
        if flags & FLAG_KERNEL_MAPS:
            for i, shape in enumerate(shapes):
                taps = kernel_taps(shape)
                if taps:
                    kernels[i] = r.f16_array(taps * taps).reshape(taps, taps)
        if not np.isfinite(values).all() or any(k is not None and not np.isfinite(k).all() for k in kernels):
            raise BitstreamError("group chunk holds a non-finite decoder", chunk=chunk)
        decoders = tuple(LayerDecoder(float(s), float(b), k) for (s, b), k in zip(values, kernels))
    residuals = []
    for shape in shapes:
        count = math.prod(shape)
        ints = np.asarray(decode_ints(r, count) if flags & FLAG_BARE else read_ints(r, max_symbols=count))
        if ints.size != count:
            raise BitstreamError(f"group chunk holds {ints.size} latents for a tensor of shape {shape}",
                                 chunk=chunk)
        residuals.append(ints.astype(np.int64).reshape(shape))
    r.expect_end()
    return GroupRecord(steps=head.steps, decoders=decoders, residuals=tuple(residuals), frames=head.frames)


#: The segment chunk carries the per-layer quantization steps (the first segment's chunk).
SEG_STEPS = 1
#: The values are the segment's codes themselves, not residuals to the previous segment's codes.
SEG_DIRECT = 2
#: The count of fitting steps that refined the predicted modulations follows (``--finetune``).
SEG_FINETUNE = 4
_SEG_FLAGS = SEG_STEPS | SEG_DIRECT | SEG_FINETUNE


@dataclass(frozen=True)
class SegmentRecord:
    """One segment's chunk: per modulated layer an integer array (tubelets, tokens, row) of codes
    (``direct``) or of residuals to the previous segment's codes; the per-layer steps (``None``:
    unchanged, only the first segment carries them); the fitting steps that refined it."""

    values: tuple[np.ndarray, ...]
    direct: bool
    steps: tuple[float, ...] | None = None
    finetune: int = 0


def write_segment(record: SegmentRecord) -> bytes:
    """``u8 flags | f32 step per layer if flags & 1 | uvarint finetune steps if flags & 4 | values
    per layer`` (:func:`bitstream.entropy.encode_ints`; the reader knows the shapes)."""
    w = ByteWriter()
    w.u8((SEG_STEPS if record.steps is not None else 0) | (SEG_DIRECT if record.direct else 0)
         | (SEG_FINETUNE if record.finetune else 0))
    if record.steps is not None:
        if len(record.steps) != len(record.values):
            raise ValueError("one step per modulated layer")
        w.f32_array(np.asarray(record.steps, dtype=np.float32))
    if record.finetune:
        w.uvarint(record.finetune)
    for values in record.values:
        w.raw(encode_ints(values.reshape(-1).astype(np.int64)))
    return w.getvalue()


def read_segment(data: bytes, shapes: list[tuple[int, ...]], chunk: int | None = None,
                 base_offset: int = 0) -> SegmentRecord:
    """Inverse of :func:`write_segment` for modulation arrays of ``shapes``."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    flags = r.u8()
    if flags & ~_SEG_FLAGS:
        raise BitstreamError(f"segment chunk has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
    steps = None
    if flags & SEG_STEPS:
        raw = r.f32_array(len(shapes))
        if not (np.isfinite(raw).all() and (raw > 0).all()):
            raise BitstreamError("segment chunk holds a step that is not a positive number", chunk=chunk)
        steps = tuple(float(v) for v in raw)
    finetune = r.uvarint() if flags & SEG_FINETUNE else 0
    values = []
    for shape in shapes:
        count = math.prod(shape)
        ints = np.asarray(decode_ints(r, count))
        if ints.size != count:
            raise BitstreamError(f"segment chunk holds {ints.size} values for a layer of {count}", chunk=chunk)
        values.append(ints.astype(np.int64).reshape(shape))
    r.expect_end()
    return SegmentRecord(tuple(values), bool(flags & SEG_DIRECT), steps, finetune)


#: The grid chunk carries the synthesis tensors' quantization steps (the first group's chunk).
GRID_STEPS = 1


@dataclass(frozen=True)
class GridRecord:
    """One ``grid`` group's chunk: the steps it trained, the synthesis's per-tensor quantization
    steps (``None``: unchanged, only the first group carries them), the synthesis and context
    codes as residuals to the previous group's, and each latent level's ANS words. ``parts``
    (filled by the reader): bytes of the head, the synthesis, the context networks and each level."""

    steps: int
    synthesis_steps: np.ndarray | None
    synthesis: tuple[np.ndarray, ...]
    context: tuple[np.ndarray, ...]
    levels: tuple[np.ndarray, ...]
    parts: tuple[int, ...] = ()


def write_grid(record: GridRecord) -> bytes:
    """``u8 flags | uvarint steps | f32 step per synthesis tensor if flags & 1 | values per synthesis
    tensor | values per context tensor`` (:func:`bitstream.entropy.encode_ints`; the reader knows
    the shapes) ``| per level: uvarint words, u32 words``."""
    w = ByteWriter()
    w.u8(GRID_STEPS if record.synthesis_steps is not None else 0)
    w.uvarint(record.steps)
    if record.synthesis_steps is not None:
        if len(record.synthesis_steps) != len(record.synthesis):
            raise ValueError("one step per synthesis tensor")
        w.f32_array(np.asarray(record.synthesis_steps, dtype=np.float32))
    for values in record.synthesis + record.context:
        w.raw(encode_ints(values.reshape(-1).astype(np.int64)))
    for words in record.levels:
        w.uvarint(len(words))
        w.u32_array(np.asarray(words, dtype=np.uint32))
    return w.getvalue()


def read_grid(data: bytes, synthesis: list[tuple[int, ...]], context: list[tuple[int, ...]],
              max_words: list[int], chunk: int | None = None, base_offset: int = 0) -> GridRecord:
    """Inverse of :func:`write_grid` for networks of these tensor shapes and latent levels of at
    most ``max_words`` words each."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    flags = r.u8()
    if flags & ~GRID_STEPS:
        raise BitstreamError(f"grid chunk has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
    steps = r.uvarint()
    quant = None
    if flags & GRID_STEPS:
        quant = r.f32_array(len(synthesis))
        if not (np.isfinite(quant).all() and (quant > 0).all()):
            raise BitstreamError("grid chunk holds a step that is not a positive number", chunk=chunk)
    parts = [r.position]
    tensors = []
    for shapes in (synthesis, context):
        for shape in shapes:
            count = math.prod(shape)
            ints = np.asarray(decode_ints(r, count))
            if ints.size != count:
                raise BitstreamError(f"grid chunk holds {ints.size} values for a tensor of {count}", chunk=chunk)
            tensors.append(ints.astype(np.int64).reshape(shape))
        parts.append(r.position - sum(parts))
    levels = []
    for limit in max_words:
        at = r.position
        levels.append(r.u32_array(r.uvarint_max(limit, "latent words")))
        parts.append(r.position - at)
    r.expect_end()
    n = len(synthesis)
    return GridRecord(steps=steps, synthesis_steps=quant, synthesis=tuple(tensors[:n]), context=tuple(tensors[n:]),
                      levels=tuple(levels), parts=tuple(parts))
