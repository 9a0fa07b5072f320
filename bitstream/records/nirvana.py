"""Group records of ``nirvana`` (``docs/bitstream.md`` §11): one group of frames' latents, coded as
residuals to the previous group's, with the per-tensor decoders (scale, shift, kernel maps) in
the first group's chunk (kind :data:`bitstream.records.kinds.CHUNK_GROUP`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import read_arrays, write_arrays

__all__ = ["FLAG_DECODERS", "FLAG_KERNEL_MAPS", "FLAG_FRAMES", "FLAG_BARE", "GROUP_HEAD_BYTES",
           "LayerDecoder", "GroupRecord", "GroupHead", "kernel_taps", "write_group", "read_group_head",
           "read_group"]

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
    values alone (:func:`bitstream.tensor.write_arrays`, flags & 8): the reader knows the shapes."""
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
    write_arrays(w, record.residuals)
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
    residuals = read_arrays(r, shapes, framed=not flags & FLAG_BARE)
    r.expect_end()
    return GroupRecord(steps=head.steps, decoders=decoders, residuals=residuals, frames=head.frames)
