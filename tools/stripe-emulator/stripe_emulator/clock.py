"""The emulator's notion of "now": object timestamps and the age of idempotency keys.

Stripe stamps every object with ``created`` (unix seconds) and may prune an idempotency key
once it is 24 hours old. Tests need to cross that horizon without waiting a day, so the
clock is injectable and can be moved forward.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the emulator needs from a clock. Calls arrive under the emulator's lock."""

    def now(self) -> float:
        """Current time, unix seconds."""
        ...

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards)."""
        ...

    def reset(self) -> None:
        """Undo every ``advance`` (used by the emulator's ``reset``)."""
        ...


class SystemClock:
    """Wall-clock time plus whatever has been added with :meth:`advance`."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        _check_forward(seconds)
        self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0


class ManualClock:
    """A clock that stands still until advanced: fully deterministic timestamps.

    ``start`` is the unix time it shows first (default: 2023-11-14T22:13:20Z).
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._start = start
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        _check_forward(seconds)
        self._now += seconds

    def reset(self) -> None:
        self._now = self._start


def _check_forward(seconds: float) -> None:
    # Going back in time would let keys "un-expire" and break newest-first ordering.
    if seconds < 0:
        raise ValueError(f"a clock only moves forward (got {seconds} seconds)")
