"""NIRVANA's :class:`~codec.family.Family` (model and paper: :mod:`codec.families.nirvana`):
patch and group layout, the group network's size, and the group-wise encoder and decoder."""

from __future__ import annotations

import torch

from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.family import ChunkSink, ChunkSource, Decoder, Family, FamilyStats, FrameSource, Geometry
from codec.families.nirvana import OPTIONS, STREAMS, SUMMARY
from codec.families.nirvana.config import (
    DEFAULT_GOP,
    DEFAULT_PATCH,
    MAX_VALUES,
    MIN_VALUES,
    PRESETS,
    SMALL_FRAME_PATCH,
    SMALL_FRAME_PIXELS,
    NirvanaConfig,
)
from codec.families.nirvana.ladder import LADDER
from codec.families.nirvana.net import NirvanaNet
from codec.tools.blocks import pe_levels_for
from codec.tools.fitoptions import quality_rung, size_density
from codec.tools.patches import PatchGrid
from codec.tools.sizing import config_for_budget, param_budget
from codec.tools.structure import CodingStructure

#: SIREN frequency of the stem's sine activations, x100 (2.0 measured +0.5 dB over 1.0 on carphone).
OMEGA = 200


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
        raise ConfigError(f"--patch {patch} cannot be reached by upsampling (strides of 2, 3 and 5 from a map "
                          "of side 4 at most): use e.g. 6, 8, 12 or 16")
    return tuple(strides)


class NirvanaFamily(Family):
    name = "nirvana"
    family_id = 3
    config_cls = NirvanaConfig
    options_cls = OPTIONS
    quick_options = {"preset": "xs", "steps": 20, "gop": 2, "patch": 16}
    #: What ``--quality`` means: rungs of (density per pixel of a group, lambda, first-group steps).
    ladder = LADDER
    summary = SUMMARY
    streams = STREAMS
    #: Measured estimate/file 0.75 on the check encode (2612 of 3481 bytes, three groups: the
    #: header and each chunk's step sizes and entropy-model tables are not in training's count).
    rate_estimate_tolerance = 0.4
    serial_reason = ("each group's network starts from the previous group's (NIRVANA's chain): "
                     "its groups train one after another")

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

    def probe_frames(self, enc: EncodeConfig, count: int) -> int:
        """Frames of a rate-control probe fit (:mod:`codec.ratecontrol`): two groups, a key group
        and one stored as its residual."""
        return 2 * (enc.options.gop or DEFAULT_GOP)

    def ladder_steps(self, length: float, frames: int) -> int:
        """The first group's steps for a ladder length (steps already; groups have a fixed size)."""
        return max(1, round(length))

    def ladder_length(self, steps: int, frames: int) -> float:
        """The ladder length of ``steps`` (the inverse of :meth:`ladder_steps`)."""
        return float(steps)

    def make_config(self, enc: EncodeConfig, geometry: Geometry) -> NirvanaConfig:
        opts = enc.options
        gop = min(opts.gop or DEFAULT_GOP, geometry.num_frames)  # a short clip: no unused frame outputs
        patch = opts.patch or default_patch(geometry.width, geometry.height)
        grid = PatchGrid(geometry.height, geometry.width, patch)
        budget = param_budget(opts.params, opts.preset, PRESETS,
                              per=grid.count * patch * patch * gop, bounds=(MIN_VALUES, MAX_VALUES),
                              density=size_density(opts, quality_rung(enc, self.ladder)))
        return config_for_budget(lambda m: self.build_config(m, gop, patch, grid),
                                 lambda config: NirvanaNet(config, grid), budget)

    def encode(self, config: NirvanaConfig, source: FrameSource, enc: EncodeConfig, sink: ChunkSink,
               device: torch.device) -> FamilyStats:
        from codec.families.nirvana.encode import encode

        return encode(config, source, enc, sink, device, self)

    def decoder(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                device: torch.device) -> Decoder:
        from codec.families.nirvana.decode import NirvanaDecoder

        return NirvanaDecoder(config, geometry, stream, device)

    def decode_memory(self, config: NirvanaConfig, geometry: Geometry) -> int:
        """One group's peak (:func:`codec.families.nirvana.memory.decode_memory`)."""
        from codec.families.nirvana.memory import decode_memory

        return decode_memory(config, geometry)

    def describe_chunks(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource,
                        values: bool = False) -> str:
        """The per-group table of ``inrv info`` (:func:`codec.families.nirvana.info.group_table`)."""
        from codec.families.nirvana.info import group_table

        return group_table(config, geometry, stream, values)

    def structure(self, config: NirvanaConfig, geometry: Geometry, stream: ChunkSource) -> CodingStructure:
        """The stream's coding structure: groups of ``gop`` frames or fewer (scene cuts, from the chunks' heads), each a residual of the one before."""
        from codec.families.nirvana.decode import structure

        return structure(config, geometry, stream)


FAMILY = NirvanaFamily()
