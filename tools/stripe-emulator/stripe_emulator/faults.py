"""Fault injection: a plan of rules, each firing on the next N matching requests or with a
probability drawn from a seeded ``random.Random`` (so a run is reproducible from its seed).

A rule is a JSON-ready dict (the same over HTTP and in Python)::

    {"kind": "drop_after_commit",          # see KINDS
     "match": {"endpoint": "create",       # optional; every field given must match:
               "request_id": "order-1",    #   endpoint (one of ENDPOINTS),
               "idempotency_key": "...",   #   metadata.request_id, idempotency key,
               "customer": "cus_...",      #   customer (create params or list filter),
               "event_type": "..."},       #   event type (webhook kinds only)
     "count": 1,                           # fire on the next N matching requests
     "probability": 0.05,                  # or: on each one with this chance (both: at
                                           #   most ``count`` times); neither: count = 1
     "status": 503,                        # server_error_*: 500 by default
     "should_retry": true,                 # Stripe-Should-Retry header; rate_limit: false
                                           #   by default, server errors: no header (so
                                           #   the SDK retries them; a saved 500 is then
                                           #   replayed with Idempotent-Replayed: true)
     "ms": 200, "jitter_ms": 50,           # latency
     "seconds": 10, "then": "drop"}        # hang: delay, then "respond" (default) or "drop"

Kinds: ``rate_limit`` (429), ``server_error_before`` (5xx) and ``drop_before`` (connection
closed, nothing executed) answer before execution, so nothing is saved for the key;
``latency`` and ``hang`` delay the request while its key is claimed (a retry meanwhile gets
409); ``server_error_after`` commits, then saves and sends a 500 that every retry with the
key gets replayed; ``drop_after_commit`` commits and saves the real response, then closes the
connection without a byte (the lost response a retry with the same key must recover). The
"after" kinds only fire on a request that executes, never on a replay, a 409 or a 400.

Webhook kinds act on an event's delivery, not on an API request (match ``endpoint``
"webhook", ``event_type``, ``request_id`` (the intent's ``metadata.request_id``),
``customer``): ``webhook_duplicate`` delivers the event once more, as a separate delivery
(Stripe delivers at least once); ``webhook_delay`` holds its delivery back ``seconds`` on the
emulator's clock, so later events arrive first (Stripe does not guarantee order).

When several rules match one request, the first answering rule (rate_limit,
server_error_before, drop_before) wins and then no delay applies; otherwise every delay that
fires adds up. The plan does no locking: the emulator state calls it under its lock.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Answered before execution, so nothing is saved for the idempotency key.
ANSWERING_KINDS = ("rate_limit", "server_error_before", "drop_before")
#: Slow the request down (while its idempotency key is claimed).
DELAY_KINDS = ("latency", "hang")
#: Applied once the request has executed: its result is committed and saved.
AFTER_KINDS = ("server_error_after", "drop_after_commit")
#: Act on webhook deliveries (see ``webhooks.py``): deliver an event twice, or hold one back
#: ``seconds`` on the emulator's clock so that later events overtake it.
WEBHOOK_KINDS = ("webhook_duplicate", "webhook_delay")
KINDS = ANSWERING_KINDS + DELAY_KINDS + AFTER_KINDS + WEBHOOK_KINDS
ENDPOINTS = (
    "create",
    "retrieve",
    "list",
    "customer_create",
    "customer_retrieve",
    "customer_update",
    "payment_method_attach",
    "payment_method_retrieve",
    "webhook",
)


@dataclass(frozen=True)
class FaultMatch:
    """Which requests a rule applies to; ``None`` matches anything."""

    endpoint: str | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    customer: str | None = None
    event_type: str | None = None


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match on, read from the request."""

    endpoint: str
    request_id: str | None = None
    idempotency_key: str | None = None
    customer: str | None = None
    event_type: str | None = None  # webhook deliveries only

    def satisfies(self, match: FaultMatch) -> bool:
        """True when every field set in ``match`` equals this request's."""
        return all(
            wanted is None or wanted == getattr(self, name)
            for name, wanted in asdict(match).items()
        )


@dataclass(frozen=True)
class FaultRule:
    """One fault and when to inject it (see the module docstring for the fields)."""

    kind: str
    match: FaultMatch = field(default_factory=FaultMatch)
    count: int | None = None
    probability: float | None = None
    status: int = 500
    should_retry: bool | None = None
    ms: float = 0.0
    jitter_ms: float = 0.0
    seconds: float = 30.0
    then: Literal["respond", "drop"] = "respond"

    def __post_init__(self) -> None:
        _check_types(self)
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.match.endpoint is not None and self.match.endpoint not in ENDPOINTS:
            raise ValueError(f"match.endpoint must be one of {ENDPOINTS}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if not 500 <= self.status <= 599:
            raise ValueError("status must be a 5xx code")
        if self.ms < 0 or self.jitter_ms < 0 or self.seconds < 0:
            raise ValueError("ms, jitter_ms and seconds cannot be negative")
        if self.then not in ("respond", "drop"):
            raise ValueError("then must be 'respond' or 'drop'")

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> FaultRule:
        """Build a rule from its JSON form; ``ValueError`` says what is wrong."""
        fields = dict(document)
        unknown = set(fields) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        match = fields.pop("match", None) or {}
        if not isinstance(match, Mapping):
            raise ValueError("match must be an object")
        unknown = set(match) - set(FaultMatch.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown match fields: {sorted(unknown)}")
        try:
            return cls(match=FaultMatch(**match), **fields)
        except TypeError as error:
            raise ValueError(str(error)) from error

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)

    @property
    def stripe_should_retry(self) -> bool | None:
        """The Stripe-Should-Retry header to send: a 429 says "don't" unless told otherwise,
        so the SDK does not retry it (like Stripe's own rate limits)."""
        if self.kind == "rate_limit" and self.should_retry is None:
            return False
        return self.should_retry


def _check_types(rule: FaultRule) -> None:
    # Rules arrive as JSON over HTTP: refuse "3" for a count rather than fail mid-request.
    def number(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if not isinstance(rule.kind, str) or not isinstance(rule.match, FaultMatch):
        raise ValueError("kind must be a string and match an object")
    if rule.count is not None and (not isinstance(rule.count, int) or isinstance(rule.count, bool)):
        raise ValueError("count must be an integer")
    if rule.probability is not None and not number(rule.probability):
        raise ValueError("probability must be a number")
    if not all(number(value) for value in (rule.status, rule.ms, rule.jitter_ms, rule.seconds)):
        raise ValueError("status, ms, jitter_ms and seconds must be numbers")
    if rule.should_retry is not None and not isinstance(rule.should_retry, bool):
        raise ValueError("should_retry must be true, false or null")


@dataclass
class _Active:
    rule_id: str
    rule: FaultRule
    remaining: int | None
    injected: int = 0


@dataclass(frozen=True)
class BeforeExecution:
    """The faults drawn for a request as it arrives."""

    answer: FaultRule | None = None  # answer with this fault instead of executing
    delay_seconds: float = 0.0  # otherwise, wait this long first (latency, hang)
    drop_after_delay: bool = False  # a hang with then="drop"
    fired: tuple[str, ...] = ()  # kinds injected, for the ledger


class FaultPlan:
    """The rules in force, with their seeded random source."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_Active] = []
        self._ids = itertools.count(1)
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart both random streams (fault rolls and latency jitter) from ``seed``."""
        # Two streams, so that changing latency settings does not shift which requests fail.
        self._rolls = random.Random(seed)
        self._jitter = random.Random(seed + 1)

    def add(self, rule: FaultRule) -> str:
        """Append a rule; returns its ID."""
        rule_id = f"fault_{next(self._ids)}"
        remaining = rule.count if rule.count is not None or rule.probability is not None else 1
        self._rules.append(_Active(rule_id, rule, remaining))
        return rule_id

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; False if there is none with that ID."""
        before = len(self._rules)
        self._rules = [active for active in self._rules if active.rule_id != rule_id]
        return len(self._rules) < before

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        """Each rule with its ID, how many injections remain (null: unlimited) and done."""
        return [
            {"id": a.rule_id, **a.rule.to_dict(), "remaining": a.remaining, "injected": a.injected}
            for a in self._rules
        ]

    def before_execution(self, facts: RequestFacts) -> BeforeExecution:
        """Draw the faults that act before the request executes."""
        for active in self._rules:
            if active.rule.kind in ANSWERING_KINDS and self._fires(active, facts):
                return BeforeExecution(answer=active.rule, fired=(active.rule.kind,))
        delay = 0.0
        drop = False
        fired: list[str] = []
        for active in self._rules:
            rule = active.rule
            if rule.kind in DELAY_KINDS and self._fires(active, facts):
                fired.append(rule.kind)
                if rule.kind == "latency":
                    delay += self.jittered(rule.ms, rule.jitter_ms)
                else:
                    delay += rule.seconds
                    drop = drop or rule.then == "drop"
        return BeforeExecution(None, delay, drop, tuple(fired))

    def after_execution(self, facts: RequestFacts) -> FaultRule | None:
        """Draw the fault, if any, that replaces the answer of an executed request."""
        for active in self._rules:
            if active.rule.kind in AFTER_KINDS and self._fires(active, facts):
                return active.rule
        return None

    def for_webhook(self, facts: RequestFacts) -> tuple[int, float, tuple[str, ...]]:
        """Draw the faults of one event's delivery: (extra copies to deliver, seconds to hold
        it back, kinds fired)."""
        copies, delay, fired = 0, 0.0, []
        for active in self._rules:
            if active.rule.kind in WEBHOOK_KINDS and self._fires(active, facts):
                fired.append(active.rule.kind)
                if active.rule.kind == "webhook_duplicate":
                    copies += 1
                else:
                    delay += active.rule.seconds
        return copies, delay, tuple(fired)

    def jittered(self, ms: float, jitter_ms: float) -> float:
        """A delay in seconds: ``ms`` give or take up to ``jitter_ms``, never negative."""
        if jitter_ms:
            ms += self._jitter.uniform(-jitter_ms, jitter_ms)
        return max(ms, 0.0) / 1000.0

    def _fires(self, active: _Active, facts: RequestFacts) -> bool:
        rule = active.rule
        if active.remaining == 0 or not facts.satisfies(rule.match):
            return False
        # Roll only for matching requests, so unrelated traffic does not shift the sequence.
        if rule.probability is not None and self._rolls.random() >= rule.probability:
            return False
        if active.remaining is not None:
            active.remaining -= 1
        active.injected += 1
        return True
