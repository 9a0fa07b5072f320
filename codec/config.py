"""Typed, frozen configuration of an encode run (the public API's input)."""

from __future__ import annotations

from dataclasses import dataclass

from codec.errors import ConfigError

#: quality 1..8 -> lambda (loss = distortion + lambda * bpp); higher quality, lower lambda.
QUALITY_LAMBDAS: dict[int, float] = {
    1: 3e-2,
    2: 1.5e-2,
    3: 7e-3,
    4: 3.5e-3,
    5: 1.7e-3,
    6: 8e-4,
    7: 4e-4,
    8: 2e-4,
}
DEFAULT_QUALITY = 4


#: Options that only some families read (``Family.options``), with their command-line names: one
#: given to a family that does not read it is an error, not silently ignored.
FAMILY_OPTIONS: dict[str, str] = {
    "gop": "--gop",
    "patch": "--patch",
    "scene_cut": "--scene-cut",
    "post_quant_bits": "--post-quant",
}


@dataclass(frozen=True)
class EncodeConfig:
    """Everything that decides what an encode produces.

    ``quality`` (1..8) and ``lmbda`` are two spellings of the rate knob; ``lmbda`` wins when both
    are given. ``steps`` and ``time_budget`` bound training (whichever ends first); with neither,
    the family's default number of steps is used. ``gop``/``patch`` only apply to families that
    cut the video into groups / patches; ``scene_cut`` (dB, group-wise families) is the PSNR
    between consecutive frames below which a new group starts (``None``: the family's default, 0:
    never). Each family says which of :data:`FAMILY_OPTIONS` it reads; giving one to a family
    that does not read it is a :class:`ConfigError` at encode time.
    ``threads`` is the CPU thread count (``None``: every core, or ``INRV_THREADS``); it is part of
    what decides the result, because it changes the order of floating-point sums in training.
    ``post_quant_bits`` is the baseline mode: train in float without a rate term and round to that
    many bits afterwards (for comparisons only).
    """

    model: str = "nerv"
    quality: int | None = None
    lmbda: float | None = None
    preset: str | None = None
    params: int | None = None
    steps: int | None = None
    time_budget: float | None = None
    start: int = 0
    count: int | None = None
    device: str = "auto"
    seed: int = 0
    gop: int | None = None
    patch: int | None = None
    scene_cut: float | None = None
    post_quant_bits: int | None = None
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.quality is not None and self.quality not in QUALITY_LAMBDAS:
            raise ConfigError(f"--quality must be in 1..{max(QUALITY_LAMBDAS)}, got {self.quality}")
        if self.lmbda is not None and not (self.lmbda > 0 and self.lmbda < 1e6):
            raise ConfigError(f"--lmbda must be a positive number, got {self.lmbda}")
        if self.params is not None and self.params < 100:
            raise ConfigError(f"--params must be at least 100, got {self.params}")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"--steps must be >= 1, got {self.steps}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ConfigError(f"--time-budget must be > 0 seconds, got {self.time_budget}")
        if self.start < 0:
            raise ConfigError(f"first frame must be >= 0, got {self.start}")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"frame count must be >= 1, got {self.count}")
        if self.gop is not None and self.gop < 1:
            raise ConfigError(f"--gop must be >= 1, got {self.gop}")
        if self.post_quant_bits is not None and not 2 <= self.post_quant_bits <= 16:
            raise ConfigError(f"--post-quant must be 2..16 bits, got {self.post_quant_bits}")
        if self.scene_cut is not None and not 0 <= self.scene_cut <= 100:
            raise ConfigError(f"--scene-cut must be 0..100 dB (0: no scene cuts), got {self.scene_cut}")
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise ConfigError(f"--threads must be in 1..1024, got {self.threads}")
        if self.patch is not None and self.patch < 4:
            raise ConfigError(f"--patch must be >= 4, got {self.patch}")

    @property
    def rate_lambda(self) -> float:
        """The lambda actually used for training."""
        if self.lmbda is not None:
            return self.lmbda
        return QUALITY_LAMBDAS[self.quality if self.quality is not None else DEFAULT_QUALITY]
