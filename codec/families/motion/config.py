"""The stream config and the options of ``motion``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.configio import trailing
from codec.options import option
from codec.tools.fitoptions import FitOptions

#: Coding structures (the stream config's ``structure``): random access (hierarchical B frames
#: inside each intra period) and low-delay P (each frame from the one before).
STRUCTURES = ("ra", "ld")
DEFAULT_INTRA_PERIOD = 32
MAX_INTRA_PERIOD = 1024
#: Interpolation filters of the warping (the stream config's ``interp``).
INTERPS = ("bilinear", "bicubic")
DEFAULT_INTERP = "bicubic"
#: Optical flows that guide the motion decoders before rate-distortion training (encoder only).
FLOWS = ("dis", "farneback", "none")
DEFAULT_FLOW = "none"
#: Synthesis widths a ``--density`` maps to are clamped here.
MIN_HIDDEN, MAX_HIDDEN = 8, 48
#: Named sizes: the intra and residual syntheses' hidden channels.
PRESETS: dict[str, int] = {"xs": 8, "s": 12, "m": 16, "l": 24, "xl": 32}
MAX_LEVELS = 10


@dataclass(frozen=True)
class MotionOptions(FitOptions):
    """The options of every fitting family, the coding structure and the encoder's motion tools.
    ``--density`` / ``--preset`` / ``--params`` size the syntheses (their hidden width)."""

    intra_period: int | None = option(help=f"frames from one intra frame to the next (default "
                                           f"{DEFAULT_INTRA_PERIOD}; 1: every frame intra)",
                                      low=1, high=MAX_INTRA_PERIOD, metavar="N")
    structure: str | None = option(help="coding structure: ra (random access, hierarchical B frames; the "
                                        "default) or ld (low delay: each frame predicted from the one before)",
                                   choices=STRUCTURES)
    interp: str | None = option(help=f"motion compensation's interpolation filter (default {DEFAULT_INTERP})",
                                choices=INTERPS)
    flow: str | None = option(help=f"optical flow the motion decoders are first fitted to (default "
                                   f"{DEFAULT_FLOW}; none: no guidance)", choices=FLOWS)
    warm: bool | None = option(help="start each frame's latents from an earlier frame of its type that it "
                                    "depends on (NIRVANA's initialisation; default: from zero, which measured "
                                    "fewer bits)")


@dataclass(frozen=True)
class MotionConfig:
    """Shapes of every frame's decoders (all frames share them).

    ``structure`` (0 random access, 1 low delay) and ``intra_period`` give the coding structure
    (:func:`codec.families.motion.decode.structure`); ``interp`` the warping filter (0 bilinear,
    1 bicubic). Intra frames and residuals: ``levels`` latent grids (level ``k`` at ``2**-k`` of the
    frame), a synthesis of ``layers`` 1x1 layers of ``hidden`` channels (``residual_hidden`` for
    residuals) and ``refine`` residual blocks of two 3x3 convolutions; motion: ``motion_levels`` grids at ``2**-(motion_scale + k)``
    of the frame, a synthesis of ``layers`` 1x1 layers of ``motion_hidden`` channels; every grid's
    context model has ``ctx_layers`` hidden layers of ``ctx_hidden`` units and a learned offset per
    level. ``part_stream``: each part's latent levels are one ANS stream (absent, as in every stream
    written before the field: one stream per level).
    """

    structure: int
    intra_period: int
    interp: int
    levels: int
    hidden: int
    residual_hidden: int
    layers: int
    refine: int
    motion_levels: int
    motion_hidden: int
    motion_scale: int
    ctx_hidden: int
    ctx_layers: int
    part_stream: bool = trailing(False)

    def __post_init__(self) -> None:
        if not (0 <= self.structure < len(STRUCTURES) and 1 <= self.intra_period <= MAX_INTRA_PERIOD):
            raise ValueError("motion coding structure out of range")
        if not 0 <= self.interp < len(INTERPS):
            raise ValueError("motion interpolation filter out of range")
        if not (1 <= self.levels <= MAX_LEVELS and 1 <= self.motion_levels <= MAX_LEVELS
                and 0 <= self.motion_scale <= 4):
            raise ValueError("motion latent levels out of range")
        if not (1 <= self.hidden <= 256 and 1 <= self.residual_hidden <= 256 and 1 <= self.motion_hidden <= 256
                and 1 <= self.layers <= 4
                and 0 <= self.refine <= 4):
            raise ValueError("motion synthesis sizes out of range")
        if not (1 <= self.ctx_hidden <= 64 and 1 <= self.ctx_layers <= 3):
            raise ValueError("motion context model out of range")

    @property
    def structure_name(self) -> str:
        return STRUCTURES[self.structure]

    @property
    def interp_name(self) -> str:
        return INTERPS[self.interp]
