"""The latent-grid :class:`~codec.family.Family` (model and papers: :mod:`codec.families.grid`):
the synthesis width, the grids' layout, and the group-wise encoder and decoder."""

from __future__ import annotations

import torch

from codec.config import EncodeConfig
from codec.family import ChunkSink, ChunkSource, Decoder, Family, FamilyStats, FrameSource, Geometry
from codec.families.grid import OPTIONS, STREAMS, SUMMARY
from codec.families.grid.config import (
    CONTEXTS,
    DEFAULT_CONTEXT,
    DEFAULT_GOP,
    DEFAULT_LEVELS,
    DEFAULT_TEMPORAL,
    MAX_HIDDEN,
    MIN_HIDDEN,
    PRESETS,
    GridConfig,
)
from codec.families.grid.ladder import LADDER
from codec.tools.fitoptions import synthesis_width
from codec.tools.structure import CodingStructure

#: Fixed shapes of the networks (measured choices are in docs/grid.md).
LAYERS = 2
REFINE = 1
CTX_HIDDEN = 8
CTX_LAYERS = 2


class GridFamily(Family):
    name = "grid"
    family_id = 5
    config_cls = GridConfig
    options_cls = OPTIONS
    quick_options = {"steps": 20, "gop": 2}
    #: Measured estimate/file 0.65 on the check encode (2282 of 3497 bytes, three groups: the
    #: context model's and synthesis's codes as each chunk stores them, their tables and the
    #: header are not in the estimate of latents and synthesis); 0.97 on the contract's quick encode.
    rate_estimate_tolerance = 0.5
    serial_reason = ("each group starts from the previous group's latents and networks (a chain): "
                     "its groups train one after another")
    #: What ``--quality`` means: rungs of (synthesis hidden channels, lambda, first-group steps).
    ladder = LADDER
    summary = SUMMARY
    streams = STREAMS

    def probe_frames(self, enc: EncodeConfig, count: int) -> int:
        """Frames of a rate-control probe fit (:mod:`codec.ratecontrol`): two groups."""
        return 2 * (enc.options.gop or DEFAULT_GOP)

    def ladder_steps(self, length: float, frames: int) -> int:
        """The first group's steps for a ladder length (steps already; groups have a fixed size)."""
        return max(1, round(length))

    def ladder_length(self, steps: int, frames: int) -> float:
        return float(steps)

    def hidden(self, enc: EncodeConfig) -> int:
        """The synthesis's hidden channels: ``--preset``, the largest width within ``--params``,
        else ``--density`` or the quality level's (rounded, within [MIN_HIDDEN, MAX_HIDDEN])."""
        return synthesis_width(enc, self.ladder, PRESETS, MIN_HIDDEN, MAX_HIDDEN,
                               lambda h: self._synthesis_params(enc, h), "grid")

    def _synthesis_params(self, enc: EncodeConfig, hidden: int) -> int:
        from codec.families.grid.net import Synthesis

        config = self._config(enc, 1, hidden)
        return sum(p.numel() for p in Synthesis(config).parameters())

    def _config(self, enc: EncodeConfig, frames: int, hidden: int) -> GridConfig:
        opts = enc.options
        return GridConfig(
            gop=min(opts.gop or DEFAULT_GOP, frames),
            levels=opts.levels or DEFAULT_LEVELS,
            temporal=DEFAULT_TEMPORAL,
            hidden=hidden,
            layers=LAYERS,
            refine=REFINE,
            context=CONTEXTS.index(opts.context or DEFAULT_CONTEXT),
            ctx_hidden=CTX_HIDDEN,
            ctx_layers=CTX_LAYERS,
            level_bias=True,
        )

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> GridConfig:
        return self._config(enc, geometry.num_frames, self.hidden(enc))

    def encode(self, config: GridConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        from codec.families.grid.encode import encode

        return encode(config, source, enc, sink, device, self)

    def decoder(self, config: GridConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> Decoder:
        from codec.families.grid.decode import GridDecoder

        return GridDecoder(config, geometry, stream, device)

    def decode_memory(self, config: GridConfig, geometry: Geometry) -> int:
        """The largest group's peak (:func:`codec.families.grid.memory.decode_memory`)."""
        from codec.families.grid.memory import decode_memory

        return decode_memory(config, geometry)

    def describe_chunks(self, config: GridConfig, geometry: Geometry, stream: ChunkSource,
                        values: bool = False) -> str:
        """The per-group table of ``inrv info`` (:func:`codec.families.grid.decode.group_table`): sizes
        only (the networks' codes it reads are the config's few thousand)."""
        from codec.families.grid.decode import GridDecoder, group_table

        return group_table(GridDecoder(config, geometry, stream, torch.device("cpu")))

    def structure(self, config: GridConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
        """The stream's coding structure: groups of ``gop`` frames, each a residual of the one before."""
        from codec.families.grid.decode import structure

        return structure(config, geometry, stream)


FAMILY = GridFamily()
