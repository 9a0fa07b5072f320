"""Options of the families that fit a network to the video (nerv, hnerv, nirvana, grid), and what their
``--quality`` means: a rung of the family's quality ladder (:mod:`codec.tools.ladder`), a network
size, a rate-distortion lambda (loss = distortion + lambda * bpp) and a training length chosen
together from a measured sweep. Each of the three can be given instead: ``--preset`` /
``--params`` / ``--density`` for the size, ``--lmbda``, ``--steps`` / ``--time-budget``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.options import Options, option
from codec.tools.ladder import Ladder, Rung

#: Named network sizes (what each size means is the family's: a parameter count or a density).
PRESET_NAMES = ("xs", "s", "m", "l", "xl")
#: Training distortions (``codec.tools.fit.distortion``), the first the default.
LOSSES = ("mse", "l1-ssim", "l1-ssim-fft")
#: The largest --params an encode accepts (and a decoder's bound on the values a config asks for).
MAX_PARAMS = 200_000_000


@dataclass(frozen=True)
class FitOptions(Options):
    """``lmbda`` wins over ``--quality``; ``steps`` and ``time_budget`` bound training (whichever
    ends first; with neither, the family's default steps)."""

    lmbda: float | None = option(help="rate-distortion lambda (loss = D + lambda * bpp); "
                                      "in place of --quality", positive=True, high=1e6, group="rate")
    target_bpp: float | None = option(help="rate control: the size, lambda and training length (a point of the "
                                           "quality ladder) whose file has about this many bits per pixel, "
                                           "found by short probe fits", positive=True, high=48.0, group="rate",
                                      metavar="BPP")
    target_psnr: float | None = option(help="rate control: the ladder point whose decoded PSNR-RGB is about "
                                            "this, found by short probe fits", low=10.0, high=70.0, group="rate",
                                       metavar="DB")
    preset: str | None = option(help="network size: xs, s, m, l, xl (default: the quality level's)",
                                choices=PRESET_NAMES,
                                group="size")
    params: int | None = option(help="network size as a parameter budget", low=100, high=MAX_PARAMS,
                                group="size")
    density: float | None = option(help="network size as stored values per pixel (of the clip for nerv "
                                        "and hnerv, of a group for nirvana): a size that follows the video; "
                                        "for grid, the synthesis's hidden channels",
                                   positive=True, high=100.0, group="size")
    steps: int | None = option(help="training steps", low=1)
    time_budget: float | None = option(help="training time limit in seconds", positive=True, metavar="SECONDS")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target_bpp is not None or self.target_psnr is not None:
            given = [flag for flag, value in (("--target-bpp", self.target_bpp), ("--target-psnr", self.target_psnr),
                                              ("--lmbda", self.lmbda), ("--preset", self.preset),
                                              ("--params", self.params), ("--density", self.density),
                                              ("--steps", self.steps)) if value is not None]
            if len(given) > 1:
                raise ConfigError(f"{given[0]} chooses the network size, lambda and training length itself: "
                                  f"it does not go with {', '.join(given[1:])}")

    @property
    def target(self) -> tuple[str, float] | None:
        """``("bpp", B)`` or ``("psnr", D)`` when rate control is asked for."""
        if self.target_bpp is not None:
            return ("bpp", self.target_bpp)
        if self.target_psnr is not None:
            return ("psnr", self.target_psnr)
        return None


@dataclass(frozen=True)
class WholeOptions(FitOptions):
    """The options of a whole-clip family: those of every fitting family, the baseline, the
    trunk's variants (stored in the stream config's ``trunk`` bits) and the training loss."""

    post_quant_bits: int | None = option(
        help="the baseline: train in float without a rate term, quantize to BITS after training "
             "(NeRV's post-hoc quantization; for comparisons only)", flag="--post-quant", low=2, high=16,
        metavar="BITS")
    sft: bool | None = option(
        help="Boosting-NeRV's temporal-aware affine transform: a residual block modulated by the frame "
             "index after every upsampling block")
    sin_block: bool | None = option(help="Boosting-NeRV's sinusoidal block: sin instead of GELU in the "
                                         "first upsampling block")
    nervpp: bool | None = option(help="NeRV++ blocks (gated conv, feed-forward, bilinear skip) in place of "
                                      "NeRV blocks")
    loss: str | None = option(
        help="training distortion: mse (default), l1-ssim (0.7 L1 + 0.3 (1 - SSIM)) or l1-ssim-fft "
             "(Boosting-NeRV's: 0.7 L1 + 0.3 (1 - MS-SSIM) + L1 of the 2-D spectra)", choices=LOSSES)

    @property
    def trunk(self) -> int:
        """The stream config's ``trunk`` bits these options ask for."""
        from codec.tools.blocks import TRUNK_NERVPP, TRUNK_SFT, TRUNK_SIN  # torch: not for declaring

        return (TRUNK_SFT if self.sft else 0) | (TRUNK_SIN if self.sin_block else 0) | (
            TRUNK_NERVPP if self.nervpp else 0)


def quality_rung(enc: EncodeConfig, ladder: Ladder) -> Rung:
    """The rung of ``enc``'s quality level on the family's ``ladder``."""
    return ladder.at(enc.quality_level)


def rate_lambda(enc: EncodeConfig, rung: Rung) -> float:
    """The lambda a fitting family trains with: ``--lmbda``, else the quality level's."""
    lmbda = enc.options.lmbda
    return lmbda if lmbda is not None else rung.lmbda


def size_density(options: FitOptions, rung: Rung) -> float | None:
    """The density the network is sized by: ``--density``, else the quality level's unless
    ``--preset`` or ``--params`` gives the size (``None``)."""
    if options.density is not None:
        return options.density
    return rung.size if options.preset is None and options.params is None else None


def step_limit(options: FitOptions, default: int) -> int:
    """Training steps: ``--steps``, else ``default`` without a time budget (with one, the budget
    alone ends training)."""
    return options.steps or (default if options.time_budget is None else 10**9)


def synthesis_width(enc: EncodeConfig, ladder: Ladder, presets: dict[str, int], low: int, high: int,
                    params_of: Callable[[int], int], family: str) -> int:
    """A synthesis's hidden channels (grid, motion): ``--preset``'s, the widest within ``--params``
    (``params_of(width)`` counts a width's values), else ``--density`` or the quality level's
    size, rounded and clamped to ``[low, high]``."""
    opts = enc.options
    if opts.preset is not None:
        return presets[opts.preset]
    if opts.params is not None:
        fits = [h for h in range(low, high + 1) if params_of(h) <= opts.params]
        if not fits:
            raise ConfigError(f"--params {opts.params} is below the smallest {family} synthesis "
                              f"({params_of(low)} values)")
        return fits[-1]
    size = size_density(opts, quality_rung(enc, ladder))
    return int(min(high, max(low, round(size))))
