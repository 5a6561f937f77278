"""Stripe's rate limits and object locks, on the emulator's clock.

What docs.stripe.com/rate-limits says, and how it is modelled here:

- A global limit on the account's requests per second: 100 in live mode, 25 in a sandbox.
- Each API endpoint: 25 requests per second unless the page lists another figure. Each
  named operation is its own endpoint (``POST /v1/payment_intents``, ``GET
  /v1/payment_intents`` and ``GET /v1/payment_intents/{id}`` are three), and requests for
  different IDs count against the same endpoint. A request counts against both limits.
- Over a limit: 429 with ``code: rate_limit``. Stripe's client libraries do not retry those
  (stripe-python retries a 429 only when told ``Stripe-Should-Retry: true``; Stripe's
  maintainers: "we don't retry real rate limits"), so the emulator sends
  ``Stripe-Should-Retry: false``, which stripe-python treats exactly like no header.
- Object lock timeouts: a request that writes an object another request is still writing
  gets 429 ``code: lock_timeout``, which Stripe's libraries *do* retry, so it carries
  ``Stripe-Should-Retry: true`` (the only way stripe-python retries a 429).

Where the page is vague the stricter reading is modelled, and said so:

- "N requests per second" is a sliding window: at most N admitted requests in any window of
  one second on the emulator's clock. A token bucket of N tokens refilled at N per second
  would let nearly 2N through in one second; this never does.
- A refused request takes no room in the window (a client that backs off recovers).
- Stripe waits for a lock before timing out; here a write that finds its object locked is
  refused at once. Which objects a write locks is not documented: a POST locks every ID in
  its path and the ``customer`` it names (so concurrent charges of one customer collide).
- With a clock that stands still (``ManualClock``) every request is in the same instant: the
  window only empties when the clock is advanced.

No locking here: the emulator state calls these under its lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: The window over which requests are counted, seconds.
WINDOW_SECONDS = 1.0

Refusal = Literal["global", "endpoint"]


@dataclass(frozen=True)
class RateLimits:
    """Requests per second allowed; ``None`` switches that limit off."""

    global_per_second: float | None = 25
    endpoint_per_second: float | None = 25
    lock_timeouts: bool = True

    def __post_init__(self) -> None:
        for value in (self.global_per_second, self.endpoint_per_second):
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ValueError("a rate limit must be a positive number (or None for none)")

    @classmethod
    def parse(cls, value: RateLimits | str | Mapping[str, Any] | None) -> RateLimits:
        """A preset name (``sandbox``, ``live``, ``off``), a dict of the fields, or None
        (``off``)."""
        if isinstance(value, RateLimits):
            return value
        if value is None:
            return PRESETS["off"]
        if isinstance(value, str):
            try:
                return PRESETS[value]
            except KeyError:
                known = sorted(PRESETS)
                raise ValueError(f"unknown rate-limit preset {value!r}: {known}") from None
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown rate-limit fields: {sorted(unknown)}")
        return cls(**value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "global_per_second": self.global_per_second,
            "endpoint_per_second": self.endpoint_per_second,
            "lock_timeouts": self.lock_timeouts,
        }


#: docs.stripe.com/rate-limits: a sandbox allows 25 requests/s, live mode 100; every
#: endpoint 25 in both.
SANDBOX = RateLimits(global_per_second=25, endpoint_per_second=25)
LIVE = RateLimits(global_per_second=100, endpoint_per_second=25)
OFF = RateLimits(global_per_second=None, endpoint_per_second=None, lock_timeouts=False)
PRESETS = {"sandbox": SANDBOX, "live": LIVE, "off": OFF}


class SlidingWindow:
    """At most ``limit`` admissions in any window of ``WINDOW_SECONDS``."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._admitted: deque[float] = deque()

    def has_room(self, now: float) -> bool:
        """True when one more request fits in the window ending at ``now``."""
        while self._admitted and self._admitted[0] <= now - WINDOW_SECONDS:
            self._admitted.popleft()
        return len(self._admitted) + 1 <= self.limit

    def admit(self, now: float) -> None:
        """Count a request at ``now`` (after ``has_room`` said yes)."""
        self._admitted.append(now)


class RateLimiter:
    """The account's global window and one window per endpoint."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        per_second = limits.global_per_second
        self._global = SlidingWindow(per_second) if per_second else None
        self._endpoints: dict[str, SlidingWindow] = {}

    def admit(self, endpoint: str, now: float) -> Refusal | None:
        """Count the request against both limits, or name the limit it is over."""
        if self._global is not None and not self._global.has_room(now):
            return "global"
        window = None
        if self.limits.endpoint_per_second:
            window = self._endpoints.get(endpoint)
            if window is None:
                window = self._endpoints[endpoint] = SlidingWindow(self.limits.endpoint_per_second)
            if not window.has_room(now):
                return "endpoint"
        if self._global is not None:
            self._global.admit(now)
        if window is not None:
            window.admit(now)
        return None


class ObjectLocks:
    """Objects being written by a request still running."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def acquire(self, object_ids: Iterable[str]) -> tuple[str, ...] | None:
        """Lock every object, or none (None) when one is already locked."""
        wanted = tuple(dict.fromkeys(object_ids))
        if any(object_id in self._held for object_id in wanted):
            return None
        self._held.update(wanted)
        return wanted

    def release(self, object_ids: Iterable[str]) -> None:
        """Unlock what ``acquire`` locked."""
        self._held.difference_update(object_ids)


def endpoint_key(method: str, path: str) -> str:
    """The endpoint a request counts against: its method and the path with IDs replaced,
    e.g. ``GET /v1/payment_intents/{id}``. Paths alternate resource and ID after ``/v1``
    (``/v1/payment_methods/{id}/attach``), so every second segment from the third is an ID.
    """
    segments = path.split("/")
    template = ["{id}" if index >= 3 and index % 2 == 1 else s for index, s in enumerate(segments)]
    return f"{method} {'/'.join(template)}"


def written_objects(method: str, path: str, params: Mapping[str, Any]) -> list[str]:
    """The objects a request writes and so locks (see the module docstring): none for a
    read; for a POST, the IDs in its path and the ``customer`` it names."""
    if method != "POST":
        return []
    segments = path.split("/")
    objects = [s for index, s in enumerate(segments) if index >= 3 and index % 2 == 1 and s]
    customer = params.get("customer")
    if isinstance(customer, str) and customer:
        objects.append(customer)
    return objects
