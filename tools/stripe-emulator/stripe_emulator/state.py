"""Everything the emulator remembers, behind one lock.

PaymentIntents, customers and their payment methods, saved idempotent responses, the
ledger, the fault plan, the rate limits, object locks, events and webhook deliveries, and
the clock change together (a create commits the intent, counts it, makes its event and
saves the key's response in one step), so one lock guards them all. It is never held while
a request sleeps: the request path takes it for short steps only.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from stripe_emulator import listing, payment_intents
from stripe_emulator.async_payments import BankDebitDelays
from stripe_emulator.clock import Clock, SystemClock
from stripe_emulator.customers import Customers
from stripe_emulator.events import EventFlow
from stripe_emulator.faults import BeforeExecution, FaultPlan, FaultRule, RequestFacts
from stripe_emulator.idempotency import IdempotencyStore, Lookup, Scope
from stripe_emulator.ledger import Ledger
from stripe_emulator.ratelimit import SANDBOX, ObjectLocks, RateLimiter, RateLimits, Refusal
from stripe_emulator.responses import (
    Reply,
    StripeFailure,
    api_error,
    json_reply,
    no_such,
)
from stripe_emulator.webhooks import DEFAULT_BACKOFF_SCALE, Delivery, WebhookEndpoint


@dataclass(frozen=True)
class Settings:
    """What ``reset`` goes back to: latency for every request, the rate limits, bank-debit
    delays and webhook endpoints."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limits: RateLimits = SANDBOX
    seed: int = 0
    bank_debit_delays: BankDebitDelays = field(default_factory=BankDebitDelays)
    webhook_endpoints: tuple[WebhookEndpoint, ...] = ()
    webhook_backoff_scale: float = DEFAULT_BACKOFF_SCALE
    api_version: str = ""


class EmulatorState:
    """The emulator's data and the operations on it, each atomic."""

    def __init__(
        self, api_keys: Collection[str], settings: Settings, clock: Clock | None = None
    ) -> None:
        self.api_keys = frozenset(api_keys)
        self._initial = settings
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._intents: dict[str, dict[str, Any]] = {}  # in creation order
        self._customers = Customers()
        self._keys = IdempotencyStore()
        self._ledger = Ledger()
        self._plan = FaultPlan(settings.seed)
        self._locks = ObjectLocks()
        self._configure(settings)
        self._events = self._new_event_flow()

    def _configure(self, settings: Settings) -> None:
        self.settings = settings
        self._limiter = RateLimiter(settings.rate_limits)

    def _new_event_flow(self) -> EventFlow:
        return EventFlow(
            api_version=self._initial.api_version,
            endpoints=self._initial.webhook_endpoints,
            backoff_scale=self._initial.webhook_backoff_scale,
            delays=self._initial.bank_debit_delays,
            count_fault=lambda kind: self._ledger.count_fault(kind),
        )

    # -- the request path -------------------------------------------------------------

    def count_connection(self) -> None:
        """A client opened a TCP connection."""
        with self._lock:
            self._ledger.connections += 1

    def count(self, counter: str) -> None:
        """Count a request in the ledger (see ``ledger.REQUEST_COUNTERS``)."""
        with self._lock:
            self._ledger.count_request(counter)

    def admit(self, endpoint: str) -> Refusal | None:
        """Count a request against the rate limits; names the limit it is over (429)."""
        with self._lock:
            refused = self._limiter.admit(endpoint, self._clock.now())
            if refused is not None:
                self._ledger.count_rate_limited(refused)
            return refused

    def lock_objects(self, object_ids: list[str]) -> tuple[str, ...] | None:
        """Lock the objects a write touches; None when one is locked (429 lock_timeout)."""
        with self._lock:
            if not self.settings.rate_limits.lock_timeouts:
                return ()
            held = self._locks.acquire(object_ids)
            if held is None:
                self._ledger.count_rate_limited("lock_timeout")
            return held

    def unlock_objects(self, object_ids: tuple[str, ...] | None) -> None:
        """Unlock what ``lock_objects`` locked."""
        if object_ids:
            with self._lock:
                self._locks.release(object_ids)

    def tick(self) -> list[Delivery]:
        """Settle the bank debits due on the clock; returns the webhook deliveries due."""
        with self._lock:
            return self._events.tick(self._clock.now(), self._intents, self._plan)

    def record_delivery(
        self, delivery: Delivery, signed_at: int, status: int | None, error: str | None
    ) -> None:
        """A webhook delivery attempt ended (see ``webhooks.Outbox.record``)."""
        with self._lock:
            self._events.outbox.record(
                delivery, self._clock.now(), signed_at=signed_at, status=status, error=error
            )

    def before_execution(self, facts: RequestFacts) -> BeforeExecution:
        """Draw the request's faults and add the default latency to its delay."""
        with self._lock:
            drawn = self._plan.before_execution(facts)
            for kind in drawn.fired:
                self._ledger.count_fault(kind)
            if drawn.answer is not None:
                self._ledger.count_request("faulted")
                return drawn
            latency = self._plan.jittered(self.settings.latency_ms, self.settings.jitter_ms)
            return BeforeExecution(
                None, drawn.delay_seconds + latency, drawn.drop_after_delay, drawn.fired
            )

    def claim(self, scope: Scope, fingerprint: str) -> Lookup:
        """Look an idempotency key up; claims it when the request may execute."""
        with self._lock:
            return self._keys.begin(scope, fingerprint, self._clock.now())

    def release(self, scope: Scope | None) -> None:
        """Free a claimed key whose request ended before executing."""
        if scope is not None:
            with self._lock:
                self._keys.release(scope)

    def create(
        self,
        request: payment_intents.CreateRequest,
        facts: RequestFacts,
        scope: Scope | None,
        request_id: str,
    ) -> tuple[Reply, FaultRule | None]:
        """Execute a create: commit the intent, count it, save the key's response."""

        def work() -> Reply:
            created = payment_intents.create(
                request, created=int(self._clock.now()), customers=self._customers
            )
            intent = created.intent
            self._intents[intent["id"]] = intent
            self._ledger.record_intent(intent, declined=created.decline is not None)
            if request.confirm:
                self._events.confirmed(
                    intent,
                    debit=created.debit,
                    payment_method=created.payment_method,
                    declined=created.decline is not None,
                    now=self._clock.now(),
                    plan=self._plan,
                    request_id=request_id,
                    idempotency_key=scope[1] if scope else None,
                )
            if created.decline is not None:
                return created.decline.reply()
            return json_reply(intent)

        return self._execute(work, facts, scope, request_id)

    def customers_call(
        self,
        work: Callable[[Customers, int], dict[str, Any]],
        facts: RequestFacts,
        scope: Scope | None,
        request_id: str,
    ) -> tuple[Reply, FaultRule | None]:
        """Execute a customer or payment method request: ``work(customers, now)``."""
        return self._execute(
            lambda: json_reply(work(self._customers, int(self._clock.now()))),
            facts,
            scope,
            request_id,
        )

    def retrieve(self, intent_id: str, facts: RequestFacts) -> tuple[Reply, FaultRule | None]:
        """Execute a retrieve."""

        def work() -> Reply:
            intent = self._intents.get(intent_id)
            if intent is None:
                raise no_such("payment_intent", intent_id, param="intent", status=404)
            return json_reply(intent)

        return self._execute(work, facts, None, "")

    def list_page(
        self, query: listing.ListQuery, facts: RequestFacts
    ) -> tuple[Reply, FaultRule | None]:
        """Execute a list."""

        def work() -> Reply:
            newest_first = list(reversed(self._intents.values()))
            return json_reply(listing.page(newest_first, query))

        return self._execute(work, facts, None, "")

    def _execute(
        self,
        work: Callable[[], Reply],
        facts: RequestFacts,
        scope: Scope | None,
        request_id: str,
    ) -> tuple[Reply, FaultRule | None]:
        with self._lock:
            try:
                reply = work()
            except StripeFailure as failure:
                reply = failure.reply()
            after = self._plan.after_execution(facts)
            if after is not None:
                self._ledger.count_fault(after.kind)
                self._ledger.count_request("faulted")
                if after.kind == "server_error_after":
                    # The work is committed; the client only learns "500", and so does
                    # every retry with this key, as Stripe documents. A saved 500 says
                    # "don't retry" unless the rule says otherwise: stripe-python's
                    # _should_retry expects Stripe-Should-Retry: false on most 500s, "since
                    # our idempotency framework would typically replay it anyway".
                    should_retry = after.stripe_should_retry
                    reply = api_error(
                        after.status, False if should_retry is None else should_retry
                    ).reply()
            if scope is not None:
                self._keys.save(scope, reply, request_id)
            return reply, after

    # -- control ----------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> str:
        """Append a fault rule; returns its ID."""
        with self._lock:
            return self._plan.add(rule)

    def remove_fault(self, rule_id: str) -> bool:
        """Remove one fault rule."""
        with self._lock:
            return self._plan.remove(rule_id)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self._plan.clear()

    def faults(self) -> list[dict[str, Any]]:
        """The rules in force, with how often each fired."""
        with self._lock:
            return self._plan.describe()

    def now(self) -> float:
        """The emulator clock, unix seconds."""
        with self._lock:
            return self._clock.now()

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new time."""
        with self._lock:
            self._clock.advance(seconds)
            # Bank debits due by the new time settle now; their webhooks go out with the
            # sender's next tick.
            self._events.settle_due(self._clock.now(), self._intents, self._plan)
            return self._clock.now()

    def set_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        """Delay every request by ``ms`` give or take ``jitter_ms``."""
        if ms < 0 or jitter_ms < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._configure(replace(self.settings, latency_ms=ms, jitter_ms=jitter_ms))

    def set_rate_limits(self, limits: RateLimits) -> None:
        """Replace the rate limits (and start their windows afresh)."""
        with self._lock:
            self._configure(replace(self.settings, rate_limits=limits))

    def add_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Deliver every later event to this endpoint too (until the next reset)."""
        with self._lock:
            self._events.outbox.endpoints.append(endpoint)

    def webhook_endpoints(self) -> list[dict[str, str]]:
        """The endpoints events go to."""
        with self._lock:
            return [endpoint.to_dict() for endpoint in self._events.outbox.endpoints]

    def events(self) -> list[dict[str, Any]]:
        """Every event made since the last reset, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._events.events)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt, in the order they ended (copies)."""
        with self._lock:
            return copy.deepcopy(self._events.outbox.attempts)

    def ledger(self) -> dict[str, Any]:
        """A snapshot of the ledger, with the clock and the number of saved keys."""
        with self._lock:
            snapshot = self._ledger.snapshot()
            snapshot["idempotency_keys"] = len(self._keys)
            snapshot["events"] = len(self._events.events)
            attempts = self._events.outbox.attempts
            snapshot["webhooks"] = {
                "delivered": sum(1 for attempt in attempts if attempt["delivered"]),
                "failed_attempts": sum(1 for attempt in attempts if not attempt["delivered"]),
                "waiting": self._events.outbox.waiting(),
                "settling": len(self._events.settlements),
            }
            snapshot["now"] = self._clock.now()
            return snapshot

    def payment_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(list(self._intents.values()))

    def reset(self, seed: int | None = None) -> None:
        """Forget everything and go back to the settings the emulator started with."""
        with self._lock:
            self._intents.clear()
            self._customers.clear()
            self._keys.clear()
            self._ledger = Ledger()
            self._plan = FaultPlan(self._initial.seed if seed is None else seed)
            self._clock.reset()
            self._configure(self._initial)
            self._locks = ObjectLocks()
            self._events = self._new_event_flow()
