"""Grid records of ``grid`` (``docs/bitstream.md`` §11.6): one group of frames' synthesis and context
networks as residuals to the previous group's, and its latent grids as ANS words (decoded under
the context model by ``codec.tools.latentgrid.context``); kind
:data:`bitstream.records.kinds.CHUNK_GRID`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.fields import ByteReader, ByteWriter
from bitstream.tensor import read_arrays, write_arrays

__all__ = ["GRID_STEPS", "GridRecord", "write_grid", "read_grid"]

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
    tensor | values per context tensor`` (:func:`bitstream.tensor.write_arrays`; the reader knows
    the shapes) ``| per level: uvarint words, u32 words``."""
    w = ByteWriter()
    w.u8(GRID_STEPS if record.synthesis_steps is not None else 0)
    w.uvarint(record.steps)
    if record.synthesis_steps is not None:
        if len(record.synthesis_steps) != len(record.synthesis):
            raise ValueError("one step per synthesis tensor")
        w.f32_array(np.asarray(record.synthesis_steps, dtype=np.float32))
    write_arrays(w, record.synthesis + record.context)
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
    networks = []
    for shapes in (synthesis, context):
        networks.append(read_arrays(r, shapes))
        parts.append(r.position - sum(parts))
    levels = []
    for limit in max_words:
        at = r.position
        levels.append(r.u32_array(r.uvarint_max(limit, "latent words")))
        parts.append(r.position - at)
    r.expect_end()
    return GridRecord(steps=steps, synthesis_steps=quant, synthesis=networks[0], context=networks[1],
                      levels=tuple(levels), parts=tuple(parts))
