"""A token bucket: the emulator's optional request-rate limit (Stripe answers 429 above its
limits, 25 requests per second in a sandbox)."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``rate`` requests per second on average, in bursts of up to ``burst``.

    It runs on real (monotonic) time, not the emulator's clock: it limits how fast requests
    really arrive, and advancing the clock by a day must not refill it. No locking: the
    emulator state calls it under its lock.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._monotonic = monotonic
        self._tokens = self.burst
        self._updated = monotonic()

    def take(self) -> bool:
        """Spend one token if there is one; False means: answer 429."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
