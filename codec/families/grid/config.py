"""The stream config and the options of ``grid``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.configio import trailing
from codec.options import option
from codec.tools.fitoptions import FitOptions

MAX_GOP = 64
DEFAULT_GOP = 8
MAX_LEVELS = 10
#: Latent levels: level k has 2**-k of the frame's width and height (and of the group's frames,
#: up to ``GridConfig.temporal`` halvings).
DEFAULT_LEVELS = 7
#: Temporal halvings of the coarser levels (level k spans ``2**min(k, temporal)`` frames).
DEFAULT_TEMPORAL = 3
#: Context schemes (the stream config's ``context``): checkerboard decodes a level in two passes
#: per frame of it, causal in a wavefront of about ``3 * height + width`` passes.
CONTEXTS = ("checkerboard", "causal")
#: The default scheme. Measured on carphone, 16 frames, lambda 2e-3, 300 steps (docs/grid.md): causal
#: 0.4875 bpp at 30.87 dB against checkerboard's 0.6068 bpp at 31.08 dB (about 16% fewer bits at
#: equal PSNR), decoding at 8.1 fps against 36.0 (one thread; scripts/bench_grid.py).
DEFAULT_CONTEXT = "causal"
#: Synthesis widths (hidden channels of the 1x1 layers) a ``--density`` maps to are clamped here.
MIN_HIDDEN, MAX_HIDDEN = 8, 64
#: Named sizes: the synthesis's hidden channels.
PRESETS: dict[str, int] = {"xs": 8, "s": 12, "m": 16, "l": 24, "xl": 32}


@dataclass(frozen=True)
class GridOptions(FitOptions):
    """The options of every fitting family, the group length, the latent levels and the context
    scheme. ``--density`` / ``--preset`` / ``--params`` size the synthesis network (its hidden
    width); the latents always cover every pixel."""

    gop: int | None = option(help=f"frames per group (default {DEFAULT_GOP})", low=1, high=MAX_GOP, metavar="G")
    levels: int | None = option(help=f"latent grid levels, each half the size of the one before (default "
                                     f"{DEFAULT_LEVELS})", low=1, high=MAX_LEVELS, metavar="N")
    context: str | None = option(help="entropy context of the latents: causal (the default: a wavefront of "
                                      "passes, fewer bits) or checkerboard (two passes per frame, about four "
                                      "times faster to decode)", choices=CONTEXTS)


@dataclass(frozen=True)
class GridConfig:
    """Shapes of every group's latents and networks (all groups share them).

    ``gop`` frames per group; ``levels`` latent grids, level ``k`` of ``ceil(H / 2**k) x ceil(W /
    2**k)`` over ``ceil(frames / 2**min(k, temporal))`` frames; a synthesis of ``layers`` 1x1
    layers of ``hidden`` channels and ``refine`` residual blocks of two 3x3 convolutions on RGB;
    a context model (``context``: 0 checkerboard, 1 causal) of ``ctx_layers`` hidden layers of
    ``ctx_hidden`` units per neighbourhood class; with ``level_bias``, a learned offset of the
    predicted mean and log-scale per latent level (an optional trailing field: streams written
    before it read as False).
    """

    gop: int
    levels: int
    temporal: int
    hidden: int
    layers: int
    refine: int
    context: int
    ctx_hidden: int
    ctx_layers: int
    level_bias: bool = trailing(False)

    def __post_init__(self) -> None:
        if not 1 <= self.gop <= MAX_GOP:
            raise ValueError(f"grid group size must be in 1..{MAX_GOP}")
        if not (1 <= self.levels <= MAX_LEVELS and 0 <= self.temporal <= 6):
            raise ValueError("grid latent levels out of range")
        if not (1 <= self.hidden <= 256 and 1 <= self.layers <= 4 and 0 <= self.refine <= 4):
            raise ValueError("grid synthesis sizes out of range")
        if not (0 <= self.context < len(CONTEXTS) and 1 <= self.ctx_hidden <= 64 and 1 <= self.ctx_layers <= 3):
            raise ValueError("grid context model out of range")

    @property
    def scheme(self) -> str:
        return CONTEXTS[self.context]

    @property
    def bias_levels(self) -> int:
        """Rows of the context model's per-level offsets (0: none)."""
        return self.levels if self.level_bias else 0
