"""The stream config and the options of ``nirvana``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from codec.options import option
from codec.tools.fitoptions import FitOptions

MAX_GOP = 64
MAX_PATCH = 256
DEFAULT_GOP = 8
#: A scene cut: consecutive frames further apart than this (PSNR-RGB, dB) end a group there, and the
#: group after the cut trains on group 0's schedule, since the previous group's network holds
#: another scene. Bikes' cut (frames 29/30) is 7.9 dB; its fastest motion is 19 dB per frame.
CUT_PSNR = 12.0
#: Patch side in pixels for frames of at least SMALL_FRAME_PIXELS pixels; SMALL_FRAME_PATCH below.
#: Measured against 16 (400 steps, one thread): carphone 120 (176x144) BD-rate -3.2% in the same
#: time; bikes 64 (640x272) -31%, 24% more time per step; bigbuckbunny 720p, 16 frames, 25.88 dB at
#: 0.119 bpp against 21.19 dB at 0.139. Smaller patches give the stem more positions and the trunk
#: fewer upsampling stages to learn.
DEFAULT_PATCH = 8
#: Frames smaller than this (about 128 x 128) keep 16-pixel patches: carphone shrunk to 88x72 (16
#: frames, 300 steps) lost 1.4-2.3 dB at every quality with patch 8 (3k-value group networks).
SMALL_FRAME_PIXELS = 128 * 128
SMALL_FRAME_PATCH = 16
#: Named sizes: stored values of one group's network per pixel of a group (``gop`` frames), so
#: that bigger frames get proportionally bigger networks; clamped to [MIN_VALUES, MAX_VALUES].
PRESETS: dict[str, float] = {"xs": 0.03, "s": 0.06, "m": 0.12, "l": 0.25, "xl": 0.5}
MIN_VALUES, MAX_VALUES = 2_000, 5_000_000
#: A decoder refuses a config whose group network has more values than this.
MAX_DECODE_VALUES = 4 * MAX_VALUES


@dataclass(frozen=True)
class NirvanaOptions(FitOptions):
    """The options of every fitting family, and the group and patch layout."""

    gop: int | None = option(help=f"frames per group (default {DEFAULT_GOP})", low=1, high=MAX_GOP, metavar="G")
    patch: int | None = option(help=f"patch size in pixels (default {DEFAULT_PATCH}; {SMALL_FRAME_PATCH} for "
                                    "frames under 128x128 pixels)", low=4, high=MAX_PATCH, metavar="P")
    scene_cut: float | None = option(help="a new group starts where consecutive frames are less than DB "
                                          f"PSNR apart (default {CUT_PSNR:g}; 0: never)", low=0, high=100,
                                     metavar="DB")


@dataclass(frozen=True)
class NirvanaConfig:
    """Sizes of every group's network (all groups share them, so latents line up for residuals).

    ``gop`` frames per group, ``patch`` pixels per patch side, ``pe_levels`` encoding frequencies
    per coordinate, ``mlp_layers`` hidden layers of width ``hidden``, a ``c0``-channel base map of
    side ``patch / prod(strides)``, then one NeRV block per ``(channels, strides)`` entry.
    ``omega`` (x100) is the SIREN frequency of the stem's sine activations.
    """

    gop: int
    patch: int
    pe_levels: int
    hidden: int
    mlp_layers: int
    c0: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    omega: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.gop <= MAX_GOP:
            raise ValueError(f"NIRVANA group size must be in 1..{MAX_GOP}")
        if not (4 <= self.patch <= MAX_PATCH and 1 <= self.pe_levels <= 64):
            raise ValueError("NIRVANA patch size or encoding levels out of range")
        if not (1 <= self.hidden <= 4096 and 1 <= self.mlp_layers <= 8 and 1 <= self.c0 <= 1024):
            raise ValueError("NIRVANA stem sizes out of range")
        if not (1 <= len(self.strides) <= 6 and len(self.strides) == len(self.channels)):
            raise ValueError("NIRVANA stages: strides and channels must have 1..6 equal entries")
        if any(not 2 <= s <= 8 for s in self.strides) or any(not 1 <= c <= 1024 for c in self.channels):
            raise ValueError("NIRVANA stage strides or channels out of range")
        if self.patch % math.prod(self.strides):
            raise ValueError("NIRVANA patch size must be a multiple of the stride product")
        if not 1 <= self.omega <= 10_000:
            raise ValueError("NIRVANA sine frequency out of range")

    @property
    def base(self) -> int:
        """Side of the map the first NeRV block receives."""
        return self.patch // math.prod(self.strides)


