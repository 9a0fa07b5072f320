"""The motion-compensated :class:`~codec.family.Family` (model and papers: :mod:`codec.families.motion`):
the coding structure, the decoders' sizes, and the frame-wise encoder and decoder."""

from __future__ import annotations

from dataclasses import asdict

import torch

from codec.config import EncodeConfig
from codec.family import ChunkSink, ChunkSource, Decoder, Family, FamilyStats, FrameSource, Geometry
from codec.families.motion import OPTIONS, STREAMS, SUMMARY
from codec.families.motion.config import (
    DEFAULT_INTERP,
    DEFAULT_INTRA_PERIOD,
    INTERPS,
    MAX_HIDDEN,
    MIN_HIDDEN,
    PRESETS,
    STRUCTURES,
    MotionConfig,
)
from codec.families.motion.ladder import LADDER
from codec.tools.fitoptions import synthesis_width
from codec.tools.structure import CodingStructure

#: Fixed shapes of the decoders.
LEVELS = 7
LAYERS = 2
REFINE = 1
MOTION_LEVELS = 5
MOTION_HIDDEN = 8
#: The residual syntheses' width against the intra synthesis's. Measured on bigbuckbunny's first 9
#: frames at 320x180 (intra period 8, quality 4): half width 0.0999 bpp at 25.27 dB, the same width
#: 0.1052 bpp at 25.56 dB (about equal on the curve); half the residual decoder's cost.
RESIDUAL_WIDTH = 0.5
#: The motion grid is 2**-MOTION_SCALE of the frame (a vector per 4x4 pixels).
MOTION_SCALE = 2
CTX_HIDDEN = 8
CTX_LAYERS = 2


class MotionFamily(Family):
    name = "motion"
    family_id = 6
    config_cls = MotionConfig
    options_cls = OPTIONS
    quick_options = {"steps": 16, "intra_period": 4}
    #: Training counts the latents and the first frames' syntheses; the context models' codes (three
    #: roles of about 200 values on a clip with I, P and B frames), the synthesis steps, the header
    #: and the framing are not in it: estimate/file 0.49 on the 6-frame 80x64 check encode
    #: (tests/codec/rd_checks.py), where they weigh most.
    rate_estimate_tolerance = 0.6
    serial_reason = None  # frames of one hierarchy level train at once: codec.families.motion.encode
    ladder = LADDER
    summary = SUMMARY
    streams = STREAMS

    def probe_frames(self, enc: EncodeConfig, count: int) -> int:
        """Frames of a rate-control probe fit: half an intra period and its anchors."""
        return min(count, (enc.options.intra_period or DEFAULT_INTRA_PERIOD) // 2 + 1)

    def ladder_steps(self, length: float, frames: int) -> int:
        """An intra frame's steps for a ladder length (steps already)."""
        return max(1, round(length))

    def ladder_length(self, steps: int, frames: int) -> float:
        return float(steps)

    def hidden(self, enc: EncodeConfig) -> int:
        """The intra and residual syntheses' hidden channels (:func:`codec.tools.fitoptions.synthesis_width`)."""
        return synthesis_width(enc, self.ladder, PRESETS, MIN_HIDDEN, MAX_HIDDEN,
                               lambda h: self._synthesis_params(enc, h), "motion")

    def _synthesis_params(self, enc: EncodeConfig, hidden: int) -> int:
        from codec.families.motion.net import ROLES, part_net, part_shape

        config = self._config(enc, hidden)
        return sum(p.numel() for role in ROLES for p in part_net(part_shape(config, role)).parameters())

    def _config(self, enc: EncodeConfig, hidden: int) -> MotionConfig:
        opts = enc.options
        return MotionConfig(
            structure=STRUCTURES.index(opts.structure or "ra"),
            intra_period=opts.intra_period or DEFAULT_INTRA_PERIOD,
            interp=INTERPS.index(opts.interp or DEFAULT_INTERP),
            levels=LEVELS,
            hidden=hidden,
            residual_hidden=max(MIN_HIDDEN, round(hidden * RESIDUAL_WIDTH)),
            layers=LAYERS,
            refine=REFINE,
            motion_levels=MOTION_LEVELS,
            motion_hidden=MOTION_HIDDEN,
            motion_scale=MOTION_SCALE,
            ctx_hidden=CTX_HIDDEN,
            ctx_layers=CTX_LAYERS,
            part_stream=True,
        )

    def describe(self, config: MotionConfig) -> dict:
        """The config line of ``inrv info``, the structure and the filter by name."""
        return {**asdict(config), "structure": config.structure_name, "interp": config.interp_name}

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> MotionConfig:
        return self._config(enc, self.hidden(enc))

    def encode(self, config: MotionConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        from codec.families.motion.encode import encode

        return encode(config, source, enc, sink, device, self)

    def decoder(self, config: MotionConfig, geometry: Geometry, stream: ChunkSource, device: torch.device) -> Decoder:
        from codec.families.motion.decode import MotionDecoder

        return MotionDecoder(config, geometry, stream, device)

    def decode_memory(self, config: MotionConfig, geometry: Geometry) -> int:
        """One frame's peak with the frames held (:func:`codec.families.motion.memory.decode_memory`)."""
        from codec.families.motion.memory import decode_memory

        return decode_memory(config, geometry)

    def describe_chunks(self, config: MotionConfig, geometry: Geometry, stream: ChunkSource,
                        values: bool = False) -> str:
        """The per-frame table of ``inrv info`` (:func:`codec.families.motion.decode.frame_table`):
        bytes per frame and part, frame types, multiply-adds per pixel."""
        from codec.families.motion.decode import MotionDecoder, frame_table

        return frame_table(MotionDecoder(config, geometry, stream, torch.device("cpu")))

    def structure(self, config: MotionConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
        """The stream's coding structure (random access or low delay, from the config)."""
        from codec.families.motion.decode import structure

        return structure(config, geometry, stream)


FAMILY = MotionFamily()
