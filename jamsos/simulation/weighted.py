"""Weighted choice that is cheap enough to call several times per simulated event.

``random.Random.choices`` builds a list per call; a precomputed cumulative table and one
``bisect`` do the same draw in a fraction of the time, with the same single ``random()``
call per draw, so streams stay reproducible.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed set of options with weights, drawn from with :meth:`pick`."""

    __slots__ = ("_cumulative", "_last", "_options", "_total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        options, weights = zip(*pairs, strict=True)
        self._options: tuple[T, ...] = tuple(options)
        self._cumulative = tuple(accumulate(weights))
        self._total = self._cumulative[-1]
        self._last = len(self._options) - 1
        if self._total <= 0:
            raise ValueError("weights must have a positive sum")

    @classmethod
    def of(cls, weights: Mapping[T, float]) -> Weighted[T]:
        """From a mapping of option to weight."""
        return cls(weights.items())

    def pick(self, rng: random.Random) -> T:
        """One option, with probability proportional to its weight."""
        index = bisect.bisect_right(self._cumulative, rng.random() * self._total)
        return self._options[min(index, self._last)]
