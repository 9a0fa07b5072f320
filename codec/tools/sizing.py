"""Network sizes: parameter budgets from presets, the width that meets a budget, and the guard
that counts what a stream's config asks for before anything is allocated."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import torch
from torch import nn

from bitstream import BitstreamError

C = TypeVar("C")


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def param_budget(params: int | None, preset: str | None, presets: Mapping[str, float], per: float = 1,
                 bounds: tuple[int, int] | None = None, density: float | None = None,
                 pixels: float | None = None) -> int:
    """``params`` when given; else ``density`` (values per pixel) times ``pixels`` when given; else
    the preset's value times ``per`` (e.g. pixels, for presets given as a density). Sizes from a
    density or a preset are clamped to ``bounds``."""
    if params is not None:
        return params
    if density is None and preset is None:
        raise ValueError("a size needs params, a density or a preset")
    value = density * (pixels if pixels is not None else per) if density is not None else presets[preset] * per
    if bounds is not None:
        value = min(bounds[1], max(bounds[0], value))
    return int(value)


def fit_width(build: Callable[[float], nn.Module], budget: int, lo: float = 0.05, hi: float = 64.0) -> float:
    """Largest width multiplier ``m`` with ``count_params(build(m)) <= budget`` (bisection)."""
    if count_params(build(lo)) > budget:
        return lo
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if count_params(build(mid)) <= budget:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.01:
            break
    return lo


def config_for_budget(config_at: Callable[[float], C], net_of: Callable[[C], nn.Module], budget: int) -> C:
    """The config ``config_at(m)`` of the widest ``m`` whose network ``net_of(config)`` has at most
    ``budget`` parameters (networks built on the meta device: nothing is allocated)."""

    def build(m: float) -> nn.Module:
        with torch.device("meta"):
            return net_of(config_at(m))

    return config_at(fit_width(build, budget))


def checked_shell(net_of: Callable[[], nn.Module], limit: int, what: str = "") -> nn.Module:
    """The network ``net_of()`` on the meta device (shapes only), after checking that it has at
    most ``limit`` parameters: a hostile config could otherwise ask for gigabytes that the stream
    does not hold. BitstreamError otherwise."""
    with torch.device("meta"):
        shell = net_of()
    values = count_params(shell)
    if values > limit:
        raise BitstreamError(f"model config asks for {values} parameters{what}")
    return shell
