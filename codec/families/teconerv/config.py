"""The stream config and the options of ``teconerv``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.options import Options, option
from codec.weights import ID_BYTES

#: Quantization step of each modulated layer, as a share of the RMS of the first segment's
#: modulations of that layer, per ``--quality`` 1..8. Measured with the shipped weights
#: (bbc74aea84f79693), forward pass, q1 .. q8 (bpp / PSNR-RGB): carphone 64 frames 0.019 / 15.32,
#: 0.030 / 17.51, 0.039 / 18.82, 0.050 / 19.49, 0.064 / 19.96, 0.079 / 20.27, 0.097 / 20.35,
#: 0.117 / 20.41; bikes 48 frames 0.030 / 16.73, 0.047 / 18.66, 0.062 / 20.31, 0.080 / 20.63,
#: 0.101 / 21.43, 0.123 / 21.83, 0.150 / 21.93, 0.179 / 22.04. The top two levels buy little
#: without --finetune and are kept for it (carphone 32, 100 steps: q6 23.27 dB, q8 23.62).
STEP_SCALES = (2.8, 2.0, 1.4, 1.0, 0.7, 0.5, 0.35, 0.25)
#: Default overlap of neighbouring tubelets in pixels (0: pad and crop). See docs/teconerv.md.
DEFAULT_OVERLAP = 8
MAX_OVERLAP = 64
MAX_FINETUNE = 100_000


@dataclass(frozen=True)
class TeconervOptions(Options):
    """What ``teconerv`` reads besides ``--quality``."""

    weights: str | None = option(help="pretrained weights file (default: the shipped ones); the stream names "
                                      "it by hash, decoding needs the same file", metavar="FILE")
    finetune: int | None = option(help="refine the predicted modulations with N fitting steps per segment "
                                       "(default 0: a forward pass only)", low=0, high=MAX_FINETUNE, metavar="N")
    key_interval: int | None = option(help="code every Nth segment directly, not as a residual (random access "
                                           "and damage recovery at a cost in bytes; default 0: only the first)",
                                      low=0, high=100_000, metavar="N")
    overlap: int | None = option(help=f"pixels neighbouring tubelets overlap and blend (default {DEFAULT_OVERLAP}; "
                                      "0: pad the frame to whole tubelets and crop)", low=0, high=MAX_OVERLAP,
                                 metavar="PX")


@dataclass(frozen=True)
class TeconervConfig:
    """``weights``: the id of the weights file (its SHA-256 prefix, one byte per entry);
    ``frames`` per segment and the tubelet size ``tile_h x tile_w`` (the weights' own, checked
    against them when decoding); ``overlap`` of neighbouring tubelets (0: pad and crop)."""

    weights: tuple[int, ...]
    frames: int
    tile_h: int
    tile_w: int
    overlap: int

    def __post_init__(self) -> None:
        if len(self.weights) != ID_BYTES or any(not 0 <= b <= 255 for b in self.weights):
            raise ValueError(f"teconerv weights id must be {ID_BYTES} bytes")
        if not (1 <= self.frames <= 64 and 8 <= self.tile_h <= 1024 and 8 <= self.tile_w <= 1024):
            raise ValueError("teconerv segment or tubelet size out of range")
        if self.overlap and not self.overlap <= min(self.tile_h, self.tile_w) // 2:
            raise ValueError("teconerv tubelet overlap must be at most half a tubelet")

    @property
    def weights_id(self) -> bytes:
        return bytes(self.weights)
