"""Options of the families that fit a network to the video (nerv, hnerv, nirvana), and what their
``--quality`` means: a rate-distortion lambda (loss = distortion + lambda * bpp), chosen from
:data:`QUALITY_LAMBDAS` unless ``--lmbda`` gives one, on the network size of ``--preset`` or
``--params``, trained for ``--steps`` or ``--time-budget``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.config import EncodeConfig
from codec.options import Options, option

#: quality 1..8 -> lambda; higher quality, lower lambda.
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
#: Named network sizes (what each size means is the family's: a parameter count or a density).
PRESET_NAMES = ("xs", "s", "m", "l", "xl")
DEFAULT_PRESET = "s"
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
    preset: str | None = option(help="network size: xs, s, m, l, xl (default s)", choices=PRESET_NAMES,
                                group="size")
    params: int | None = option(help="network size as a parameter budget", low=100, high=MAX_PARAMS,
                                group="size")
    density: float | None = option(help="network size as stored values per pixel (of the clip for nerv "
                                        "and hnerv, of a group for nirvana): a size that follows the video",
                                   positive=True, high=100.0, group="size")
    steps: int | None = option(help="training steps", low=1)
    time_budget: float | None = option(help="training time limit in seconds", positive=True, metavar="SECONDS")


def rate_lambda(enc: EncodeConfig) -> float:
    """The lambda a fitting family trains with: ``--lmbda``, else the quality level's."""
    lmbda = enc.options.lmbda
    return lmbda if lmbda is not None else QUALITY_LAMBDAS[enc.quality_level]


def step_limit(options: FitOptions, default: int) -> int:
    """Training steps: ``--steps``, else ``default`` without a time budget (with one, the budget
    alone ends training)."""
    return options.steps or (default if options.time_budget is None else 10**9)
