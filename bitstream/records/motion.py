"""Frame records of ``motion`` (``docs/bitstream.md`` §11.7): one frame's parts (an intra frame's
image decoder; an inter frame's motion and residual decoders), each its latent grids as ANS words
(decoded under the context model by ``codec.tools.latentgrid``) and, in the first frame of its
type, its synthesis and context networks; kind :data:`bitstream.records.kinds.CHUNK_FRAME`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import read_arrays, write_arrays

__all__ = ["PART_NETWORKS", "PartLayout", "PartRecord", "FrameRecord", "write_frame", "read_frame"]

#: A part carries its networks (synthesis steps and codes, context codes).
PART_NETWORKS = 1


@dataclass(frozen=True)
class PartLayout:
    """What the reader needs to know of a part: its networks' tensor shapes and the most words
    each latent level may take."""

    synthesis: tuple[tuple[int, ...], ...]
    context: tuple[tuple[int, ...], ...]
    max_words: tuple[int, ...]


@dataclass(frozen=True)
class PartRecord:
    """One part: the synthesis's per-tensor quantization steps and codes and the context model's
    codes (all ``None`` in a frame that reuses the networks of the first frame of its type), and
    each latent level's ANS words. ``parts`` (filled by the reader): bytes of the networks and of
    each level."""

    synthesis_steps: np.ndarray | None
    synthesis: tuple[np.ndarray, ...] | None
    context: tuple[np.ndarray, ...] | None
    levels: tuple[np.ndarray, ...]
    parts: tuple[int, ...] = ()

    @property
    def networks(self) -> bool:
        return self.synthesis is not None


@dataclass(frozen=True)
class FrameRecord:
    """One frame's chunk: the training steps it took and its parts in the order of its type."""

    steps: int
    parts: tuple[PartRecord, ...]


def write_frame(record: FrameRecord) -> bytes:
    """``uvarint steps | per part: u8 flags | if flags & 1: f32 step per synthesis tensor, values
    per synthesis tensor, values per context tensor`` (:func:`bitstream.tensor.write_arrays`; the
    reader knows the shapes) ``| per level: uvarint words, u32 words``."""
    w = ByteWriter()
    w.uvarint(record.steps)
    for part in record.parts:
        w.u8(PART_NETWORKS if part.networks else 0)
        if part.networks:
            if part.synthesis_steps is None or part.context is None or len(part.synthesis_steps) != len(part.synthesis):
                raise ValueError("a part with networks holds one step per synthesis tensor and its context codes")
            w.f32_array(np.asarray(part.synthesis_steps, dtype=np.float32))
            write_arrays(w, tuple(part.synthesis) + tuple(part.context))
        for words in part.levels:
            w.uvarint(len(words))
            w.u32_array(np.asarray(words, dtype=np.uint32))
    return w.getvalue()


def read_frame(data: bytes, layouts: list[PartLayout], chunk: int | None = None, base_offset: int = 0) -> FrameRecord:
    """Inverse of :func:`write_frame` for a frame of these parts."""
    r = ByteReader(data, base_offset=base_offset, chunk=chunk)
    steps = r.uvarint()
    parts = []
    for layout in layouts:
        flags = r.u8()
        if flags & ~PART_NETWORKS:
            raise BitstreamError(f"motion frame part has unknown flags {flags:#x}", chunk=chunk, offset=base_offset)
        at = r.position
        quant = synthesis = context = None
        if flags & PART_NETWORKS:
            quant = r.f32_array(len(layout.synthesis))
            if not (np.isfinite(quant).all() and (quant > 0).all()):
                raise BitstreamError("motion frame holds a step that is not a positive number", chunk=chunk)
            synthesis = read_arrays(r, list(layout.synthesis))
            context = read_arrays(r, list(layout.context))
        sizes = [r.position - at]
        levels = []
        for limit in layout.max_words:
            at = r.position
            levels.append(r.u32_array(r.uvarint_max(limit, "latent words")))
            sizes.append(r.position - at)
        parts.append(PartRecord(quant, None if synthesis is None else tuple(synthesis),
                                None if context is None else tuple(context), tuple(levels), tuple(sizes)))
    r.expect_end()
    return FrameRecord(steps=steps, parts=tuple(parts))
