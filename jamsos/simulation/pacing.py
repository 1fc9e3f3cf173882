"""Rate limiting for publishing: a token bucket that sleeps instead of spinning.

The clock and the sleep are injectable so tests can drive the bucket without waiting.
This is wall-clock pacing of the publisher only; the simulated events never depend on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``rate`` events per second on average, in bursts of at most ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 events/s, got {rate}")
        self.rate = rate
        # A tenth of a second's worth by default: smooth enough for a broker, and few sleeps.
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()

    def take(self, count: float = 1.0) -> None:
        """Block until ``count`` events may go, then spend their tokens."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= count
        if self._tokens < 0:
            # Sleep exactly the time the debt takes to refill; the refill on the next call
            # accounts for it, so oversleeping never lets a burst through.
            self._sleep(-self._tokens / self.rate)
