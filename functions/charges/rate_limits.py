"""This container's share of Stripe's rate limits, enforced before each request is sent.

Stripe limits an account globally (25 requests/s in a sandbox, 100 live) and each API
endpoint (25/s unless noted; ``POST /v1/payment_intents`` and ``GET /v1/payment_intents``
are different endpoints), docs.stripe.com/rate-limits. Up to ``max_concurrency``
containers send at once, so each takes ``limit / max_concurrency`` (its *share*) and
paces itself with sliding windows shared by its record threads: one for the account, one
per endpoint. The bound then holds whatever Stripe's latency.

Stripe's page does not say over which window "per second" is counted; the strictest
reading is any sliding window of one second, so that is what each container keeps: a log
of the instants it sent its last requests, and at most ``allowance(share)`` (the whole
part of the share) in any window of ``WINDOW_SECONDS``. The window is one second plus
``TRANSIT_SLACK_SECONDS``: Stripe counts a request when it arrives, and two requests sent
a window apart can arrive closer together by the spread of their network delays.

A container's windows start full, as if it had just sent its allowance: Lambda may replace
a container (a crash, a recycled one) while the one it replaces sent its allowance less
than a second ago, and reserved concurrency (``max_concurrency``) bounds how many run at
once, not how many sent in the last second. So a new container's first request waits one
window from the pacer's creation (on its first invocation), and the bound holds across
replacements.

The batch is the allowance (``batch_size``, 12 by default: 25/s for 2 containers).
Lambda hands a container one batch per invocation and the next only once the slowest call
of this one has returned, so on a backlog a container sends its whole batch as its window
turns over, and the next batch is waiting before the next turn: every window is full,
whatever the spread of Stripe's latency, as long as a round trip takes less than a window.
A batch of 10 of 12 splits across windows (10, then 2 and 8, ...) and the spread of the
round trips leaves slots unused (85% of the limit against 93% for batches of 12, both
measured with 25 ms of slack, the 85% by a count about 1% high; docs/performance.md).
``chargeq.settings.PipelineSettings.batches_fill_windows`` says whether the settings keep
this, and synth warns when they do not.

Why a window and not a token bucket: a bucket admits ``burst + rate`` in a second, so to
stay under the share it must refill below it (one token of burst: ``share - 1``), and a
container that idles while its batch's last calls return (the tail of every invocation)
loses those tokens for good. A window lets it send, when the next batch arrives, what it
did not send in the last second, never more: the share is used whenever there is work.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

#: Spread allowed for between two requests' delays from their turn here to their arrival
#: at Stripe (building and writing the request, the network, Stripe's front), seconds.
#: Measured on the local pipeline under `make bench` (two busy cores): p99 25 ms, at most
#: 28-39 ms; with 25 ms of slack, 2 requests of a pass of 300 arrived early enough for a 429.
TRANSIT_SLACK_SECONDS = 0.05
#: The window each container counts its requests in, seconds.
WINDOW_SECONDS = 1.0 + TRANSIT_SLACK_SECONDS
#: First back-off after Stripe refused a request for its rate limit, seconds; it doubles.
BACK_OFF_SECONDS = 0.25


def endpoint(method: str, url: str) -> str:
    """The endpoint a request counts against: ``"GET /v1/customers/{id}"``.

    Stripe's paths are ``/v1/<resource>/<id>/<action>``: the segment after the resource is
    an object ID, and an endpoint counts requests for every ID together.
    """
    segments = urlsplit(url).path.rstrip("/").split("/")
    if len(segments) > 3:
        segments[3] = "{id}"
    return f"{method.upper()} {'/'.join(segments)}"


def allowance(share: float) -> int:
    """Requests a container may send in any window, for a share in requests per second:
    the whole part (a window of more than one second may not hold a fraction more: any
    one second inside it could hold all of them)."""
    return math.floor(share + 1e-9)


def sustained_rate(share: float) -> float:
    """Requests per second one busy container sends at most (``allowance`` per window)."""
    return allowance(share) / WINDOW_SECONDS


class SlidingWindow:
    """The instants of the last ``allowance`` requests (not locked: ``StripePacer`` uses
    its windows under one lock)."""

    def __init__(self, share: float, now: float) -> None:
        size = allowance(share)
        if size < 1:
            raise ValueError(f"a share of {share} requests/s allows no request in a second")
        # Full from the start (see the module's docstring).
        self._sent: deque[float] = deque([now] * size, maxlen=size)

    def wait(self, now: float) -> float:
        """Seconds until a request may go (0: now)."""
        return max(0.0, self._sent[0] + WINDOW_SECONDS - now)

    def record(self, now: float) -> None:
        """A request was sent at ``now``; the oldest one falls out of the log."""
        self._sent.append(now)


class StripePacer:
    """This container's windows, shared by its record threads: the account's share and
    each endpoint's share.

    ``global_share`` and ``endpoint_share`` are requests per second (the limits divided by
    the event source's maximum concurrency, ``chargeq.settings``); each must allow at least
    one request (``ValueError`` otherwise). A request is recorded in both windows at the
    same instant, the instant it is sent, so neither bound is loosened by waiting on the
    other.
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
        self._endpoint_share = endpoint_share
        self._created = clock()
        self._global = SlidingWindow(global_share, self._created)
        SlidingWindow(endpoint_share, self._created)  # refuse a share allowing nothing now
        self._endpoints: dict[str, SlidingWindow] = {}
        self._lock = threading.Lock()

    def back_off(self, attempt: int) -> float:
        """Wait after Stripe answered 429 ``rate_limit`` (``attempt`` 0, 1, ...): a random
        time up to ``BACK_OFF_SECONDS * 2**attempt``, Stripe's advice for rate limits
        (exponential back-off with jitter, docs.stripe.com/rate-limits), so containers
        refused together do not come back together. Returns the seconds waited."""
        seconds = random.uniform(0, BACK_OFF_SECONDS * 2**attempt)  # jitter, not a secret
        self._sleep(seconds)
        return seconds

    def wait_turn(self, method: str, url: str) -> float:
        """Block until a request to this endpoint may go; returns the seconds waited."""
        key = endpoint(method, url)
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                window = self._endpoints.get(key)
                if window is None:
                    # Full since the container's creation, like the global window.
                    window = self._endpoints[key] = SlidingWindow(
                        self._endpoint_share, self._created
                    )
                wait = max(window.wait(now), self._global.wait(now))
                if wait == 0:
                    window.record(now)
                    self._global.record(now)
                    return waited
            self._sleep(wait)
            waited += wait
