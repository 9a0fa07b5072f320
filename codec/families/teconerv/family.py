"""TeCoNeRV's :class:`~codec.family.Family` (model and paper: :mod:`codec.families.teconerv`):
the config from the pretrained weights, the forward-pass encoder and the segment decoder."""

from __future__ import annotations

from pathlib import Path

import torch

from codec.config import EncodeConfig
from codec.family import ChunkSink, ChunkSource, Decoder, Family, FamilyStats, FrameSource, Geometry
from codec.families.teconerv import OPTIONS, STREAMS, SUMMARY
from codec.families.teconerv.config import DEFAULT_OVERLAP, TeconervConfig
from codec.tools.structure import CodingStructure


class TeconervFamily(Family):
    name = "teconerv"
    family_id = 4
    config_cls = TeconervConfig
    options_cls = OPTIONS
    quick_options = {"finetune": 2}
    seeded = False
    #: A forward pass without a rate term: its stats count the payload's own bytes, so comparing
    #: them with the file would test nothing.
    rate_estimate_tolerance = None
    serial_reason = ("each segment's weights are coded as a residual of the previous segment's (a chain): "
                     "its segments run one after another")
    summary = SUMMARY
    streams = STREAMS

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> TeconervConfig:
        from codec.families.teconerv.pretrained import default_path, load
        from codec.weights import use

        path = Path(enc.options.weights) if enc.options.weights else default_path()
        wid = use(path)
        hypo = load(path).hypo
        overlap = DEFAULT_OVERLAP if enc.options.overlap is None else enc.options.overlap
        overlap = min(overlap, min(hypo.height, hypo.width) // 2)
        return TeconervConfig(weights=tuple(wid), frames=hypo.frames, tile_h=hypo.height, tile_w=hypo.width,
                              overlap=overlap)

    def encode(self, config: TeconervConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        from codec.families.teconerv.encode import encode

        return encode(config, source, enc, sink, device)

    def decoder(self, config: TeconervConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> Decoder:
        from codec.families.teconerv.decode import TeconervDecoder

        return TeconervDecoder(config, geometry, stream, device)

    def describe(self, config: TeconervConfig) -> dict:
        return {"weights": config.weights_id.hex(), "frames": config.frames,
                "tubelet": f"{config.tile_w}x{config.tile_h}", "overlap": config.overlap}

    def decode_memory(self, config: TeconervConfig, geometry: Geometry) -> int:
        """One segment's peak (:func:`codec.families.teconerv.memory.decode_memory`)."""
        from codec.families.teconerv.memory import decode_memory

        return decode_memory(config, geometry)

    def describe_chunks(self, config: TeconervConfig, geometry: Geometry, stream: ChunkSource,
                        values: bool = False) -> str:
        """The per-segment table of ``inrv info`` (:func:`codec.families.teconerv.info.segment_table`)."""
        from codec.families.teconerv.info import segment_table

        return segment_table(stream, geometry, config, values)

    def structure(self, config: TeconervConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
        """The stream's coding structure: segments, each a residual of the one before or direct (from each chunk's first byte)."""
        from codec.families.teconerv.decode import structure

        return structure(config, geometry, stream)


FAMILY = TeconervFamily()
