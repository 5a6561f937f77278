"""This container's share of Stripe's rate limits, enforced before each request is sent.

Stripe limits an account globally (25 requests/s in a sandbox, 100 live) and each API
endpoint (25/s unless noted; ``POST /v1/payment_intents`` and ``GET /v1/payment_intents``
are different endpoints), docs.stripe.com/rate-limits. Up to ``max_concurrency``
containers send at once, so each takes ``limit / max_concurrency`` (its *share*) and
paces itself with token buckets shared by its record threads: one for the account, one
per endpoint. The bound then holds whatever Stripe's latency.

Stripe's page does not say over which window "per second" is counted; the strictest
reading is any sliding window of one second. A token bucket holding ``burst`` tokens and
refilled at ``rate`` per second admits at most ``burst + rate`` requests in any such
window, so each bucket holds one token and refills at ``share - 1`` per second: never more
than the share in any second, and ``1 - 1/share`` of it sustained.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

#: Tokens a bucket holds: one request may go at once, the rest are paced.
BURST = 1.0


def endpoint(method: str, url: str) -> str:
    """The endpoint a request counts against: ``"GET /v1/customers/{id}"``.

    Stripe's paths are ``/v1/<resource>/<id>/<action>``: the segment after the resource is
    an object ID, and an endpoint counts requests for every ID together.
    """
    segments = urlsplit(url).path.rstrip("/").split("/")
    if len(segments) > 3:
        segments[3] = "{id}"
    return f"{method.upper()} {'/'.join(segments)}"


def refill_rate(share: float) -> float:
    """Refill rate (tokens/s) of a bucket that admits at most ``share`` in any second."""
    return share - BURST


class TokenBucket:
    """A token bucket (not locked: ``StripePacer`` takes from its buckets under one lock)."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive refill rate")
        self.rate = rate
        self._tokens = BURST
        self._updated = now

    def wait_for_token(self, now: float) -> float:
        """Seconds until a token is there (0: one is there now)."""
        self._tokens = min(BURST, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        missing = 1 - self._tokens
        # A nanotoken short is a rounding error, not a reason to sleep for nothing.
        return missing / self.rate if missing > 1e-9 else 0.0

    def take(self) -> None:
        self._tokens -= 1


class StripePacer:
    """This container's buckets, shared by its record threads: the account's share and
    each endpoint's share.

    ``global_share`` and ``endpoint_share`` are requests per second (the limits divided by
    the event source's maximum concurrency, ``chargeq.settings``). A request takes a token
    from both buckets at the same instant, the instant it is sent, so neither bound is
    loosened by waiting on the other.
    """

    def __init__(
        self,
        global_share: float,
        endpoint_share: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._endpoint_rate = refill_rate(endpoint_share)
        self._global = TokenBucket(refill_rate(global_share), clock())
        self._endpoints: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def wait_turn(self, method: str, url: str) -> float:
        """Block until a request to this endpoint may go; returns the seconds waited."""
        key = endpoint(method, url)
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._endpoints.get(key)
                if bucket is None:
                    bucket = self._endpoints[key] = TokenBucket(self._endpoint_rate, now)
                wait = max(bucket.wait_for_token(now), self._global.wait_for_token(now))
                if wait == 0:
                    bucket.take()
                    self._global.take()
                    return waited
            self._sleep(wait)
            waited += wait
