"""The stream config and the options of ``teconerv``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.options import Options, option
from codec.weights import ID_BYTES

#: Quantization step of each modulated layer, as a share of the RMS of the first segment's
#: modulations of that layer, per ``--quality`` 1..8. Measured with the shipped weights, forward
#: pass (bpp / PSNR-RGB): carphone 32 frames, scale 5.6: 0.0049 / 11.02, 2.8: 0.0281 / 14.88,
#: 1.4: 0.0565 / 15.43, 0.7: 0.0920 / 15.43, 0.09: 0.2542 / 15.48; bikes 16 frames, 2.8: 0.0382 /
#: 20.59, 1.4: 0.0828 / 22.72, 0.7: 0.1301 / 22.85. Finer steps pay off only with --finetune
#: (carphone, 100 steps: 0.7: 21.99 dB, 0.35: 22.76, 0.18: 22.92).
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
