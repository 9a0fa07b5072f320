"""Timing what a decoder spends rendering.

Two speeds are reported for decoding (README, "Speed figures"): **render** seconds, spent producing
frames from a stream whose network is already built (:class:`Timed` around a decoder's ``render``;
what :attr:`codec.results.EncodeResult.decode_seconds` and :attr:`codec.results.DecodeResult.render_seconds`
hold), and **decode** seconds, the wall time of a whole :func:`codec.decode` call (opening the
stream, building the network, rendering, writing the output).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["Timed"]

T = TypeVar("T")


class Timed(Generic[T]):
    """Iterates ``items``, adding the seconds spent producing each item (not the caller's work
    between items) to :attr:`seconds`."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items: Iterator[T] = iter(items)
        self.seconds = 0.0

    def __iter__(self) -> "Timed[T]":
        return self

    def __next__(self) -> T:
        t0 = time.perf_counter()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - t0
