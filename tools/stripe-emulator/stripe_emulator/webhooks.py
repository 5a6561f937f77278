"""Events and their delivery to webhook endpoints, as Stripe does it (docs.stripe.com/webhooks).

An Event (docs.stripe.com/api/events/object) is made for each PaymentIntent transition the
emulator models: ``payment_intent.processing`` (a bank debit confirmed),
``payment_intent.succeeded``, ``payment_intent.payment_failed`` (a decline, or a bank debit
that failed). Its ``data.object`` is the PaymentIntent as it was at that moment; ``request``
names the API request that caused it (``{"id": null, "idempotency_key": null}`` when the
bank settled on its own). Events are kept whether or not an endpoint is configured.

Delivery, per endpoint, one event per HTTP POST of the event's JSON with ``Stripe-Signature``
(see ``signing.py``):

- at least once: any status outside 200-299, a connection error or a timeout is a failure
  and the event is sent again later. Stripe retries "three times over a few hours" in a
  sandbox (up to three days in live mode) without stating the intervals; the emulator
  retries after ``RETRY_DELAYS_SECONDS`` (10 minutes, 1 hour, 3 hours) multiplied by
  ``backoff_scale`` (default 1/1000: 0.6 s, 3.6 s, 10.8 s) on its own clock, then gives up;
- in no guaranteed order: a retried event arrives after later ones; fault rules
  ``webhook_delay`` and ``webhook_duplicate`` (``faults.py``) force reordering and
  duplicates;
- each attempt is recorded in a ledger of deliveries for tests.

Only the three event types above are made; Stripe also sends ``payment_intent.created``,
``charge.*`` and others, which an endpoint enabled for these three would not receive.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.responses import new_id
from stripe_emulator.signing import SIGNATURE_HEADER, new_secret, signature_header

logger = logging.getLogger("stripe_emulator")

#: Waits before the 2nd, 3rd and 4th attempt, seconds, before scaling (see the docstring).
RETRY_DELAYS_SECONDS = (600.0, 3600.0, 3 * 3600.0)
DEFAULT_BACKOFF_SCALE = 0.001
#: How long a delivery waits for the endpoint's answer (real seconds). Stripe does not
#: publish its figure; endpoints are told to answer 2xx quickly.
DEFAULT_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where events go, and the secret their signatures are made with."""

    url: str
    secret: str = field(default_factory=new_secret)
    id: str = field(default_factory=lambda: new_id("we"))

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook endpoint URL must be http(s): {self.url!r}")
        if not self.secret.startswith("whsec_"):
            raise ValueError("a webhook signing secret starts with whsec_")

    def to_dict(self) -> dict[str, str]:
        """The JSON form (the secret included: the control API is for tests)."""
        return {"id": self.id, "url": self.url, "secret": self.secret}


def new_event(
    event_type: str,
    data_object: dict[str, Any],
    *,
    created: int,
    api_version: str,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """An Event object with the fields stripe-python's ``Event`` declares (no ``account``
    or ``context``: those are for Connect)."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


@dataclass(order=True)
class Delivery:
    """One attempt to come: an event's payload for one endpoint, due at ``due``."""

    due: float
    sequence: int
    endpoint: WebhookEndpoint = field(compare=False)
    event_id: str = field(compare=False)
    event_type: str = field(compare=False)
    payment_intent: str | None = field(compare=False)
    payload: bytes = field(compare=False)
    attempt: int = field(default=1, compare=False)


class Outbox:
    """Endpoints, deliveries waiting, and the ledger of attempts. No locking: the state
    calls it under its lock."""

    def __init__(self, endpoints: Iterable[WebhookEndpoint], backoff_scale: float) -> None:
        if backoff_scale < 0:
            raise ValueError("backoff_scale cannot be negative")
        self.endpoints = list(endpoints)
        self.backoff_scale = backoff_scale
        self._pending: list[Delivery] = []
        self._sequence = itertools.count(1)
        self._sending: set[int] = set()  # sequences handed out by due(), not yet recorded
        self.attempts: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any], now: float, copies: int, delay: float) -> None:
        """Queue the event for every endpoint: ``1 + copies`` deliveries, ``delay`` late."""
        payload = json.dumps(event, indent=2).encode()
        data_object = event["data"]["object"]
        for endpoint in self.endpoints:
            for _ in range(1 + copies):
                delivery = Delivery(
                    now + delay,
                    next(self._sequence),
                    endpoint,
                    event["id"],
                    event["type"],
                    data_object.get("id"),
                    payload,
                )
                heapq.heappush(self._pending, delivery)

    def due(self, now: float) -> list[Delivery]:
        """The deliveries whose time has come, in due order (taken off the queue)."""
        ready = []
        while self._pending and self._pending[0].due <= now:
            ready.append(heapq.heappop(self._pending))
        self._sending.update(delivery.sequence for delivery in ready)
        return ready

    def record(
        self,
        delivery: Delivery,
        now: float,
        *,
        signed_at: int,
        status: int | None,
        error: str | None,
    ) -> None:
        """Note an attempt's result; a failure is queued again until the retries run out.
        A delivery this outbox did not hand out (one from before a reset) is ignored."""
        if delivery.sequence not in self._sending:
            return
        self._sending.discard(delivery.sequence)
        delivered = status is not None and 200 <= status < 300
        retry_in = None
        if not delivered and delivery.attempt <= len(RETRY_DELAYS_SECONDS):
            retry_in = RETRY_DELAYS_SECONDS[delivery.attempt - 1] * self.backoff_scale
        self.attempts.append(
            {
                "event_id": delivery.event_id,
                "type": delivery.event_type,
                "payment_intent": delivery.payment_intent,
                "endpoint": delivery.endpoint.id,
                "url": delivery.endpoint.url,
                "attempt": delivery.attempt,
                "at": now,
                "signed_at": signed_at,
                "status": status,
                "error": error,
                "delivered": delivered,
                "next_attempt_in": retry_in,
            }
        )
        if retry_in is not None:
            delivery.due = now + retry_in
            delivery.sequence = next(self._sequence)
            delivery.attempt += 1
            heapq.heappush(self._pending, delivery)

    def waiting(self) -> int:
        """Deliveries queued (first attempts and retries)."""
        return len(self._pending)


def post(delivery: Delivery, signed_at: int, timeout: float) -> tuple[int | None, str | None]:
    """Send one delivery; returns (HTTP status, None) or (None, what went wrong)."""
    request = urllib.request.Request(  # noqa: S310 - the endpoint URL is checked http(s)
        delivery.endpoint.url,
        data=delivery.payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(
                delivery.payload, delivery.endpoint.secret, signed_at
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return int(response.status), None
    except urllib.error.HTTPError as error:
        return int(error.code), None
    except (OSError, ValueError) as error:  # URLError, timeouts, resets are OSErrors
        return None, type(error).__name__ + ": " + str(error)


class WebhookSender:
    """A thread that, every ``interval`` real seconds, lets the state settle what is due on
    its clock (bank debits) and sends the deliveries that are due, one at a time.

    ``tick()`` -> deliveries due now; ``now()`` -> the emulator's clock; ``record(...)`` ->
    back into the state's outbox.
    """

    def __init__(
        self,
        tick: Callable[[], list[Delivery]],
        now: Callable[[], float],
        record: Callable[[Delivery, int, int | None, str | None], None],
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        interval: float = 0.02,
    ) -> None:
        self._tick = tick
        self._now = now
        self._record = record
        self._timeout = timeout
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._timeout + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                deliveries = self._tick()
                for delivery in deliveries:
                    if self._stop.is_set():
                        break
                    signed_at = int(self._now())
                    status, error = post(delivery, signed_at, self._timeout)
                    if error is not None:
                        logger.info(
                            "webhook delivery failed: %s %s attempt %d: %s",
                            delivery.event_type,
                            delivery.event_id,
                            delivery.attempt,
                            error,
                        )
                    self._record(delivery, signed_at, status, error)
            except Exception:
                # A bug here must not end deliveries for the rest of the run.
                logger.exception("webhook sender error")
