"""What happened, for assertions: PaymentIntents per ``metadata.request_id``, requests per
endpoint and outcome, faults injected, and TCP connections accepted (a client that reuses
its connections opens few; one that opens one per request shows it here).

The project's invariant is "each request charged exactly once"; ``double_charges`` lists
the request IDs with more than one succeeded PaymentIntent. No locking here: the state calls
it under its lock.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

#: Request counters, always present in a snapshot (so two snapshots compare equal when no
#: request was made in between). Endpoint names count every API request that reached the
#: emulator; the others count what happened to some of them.
REQUEST_COUNTERS = (
    "create",  # POST /v1/payment_intents
    "retrieve",  # GET /v1/payment_intents/{id}
    "list",  # GET /v1/payment_intents
    "customer_create",  # POST /v1/customers
    "customer_retrieve",  # GET /v1/customers/{id}
    "customer_update",  # POST /v1/customers/{id}
    "payment_method_attach",  # POST /v1/payment_methods/{id}/attach
    "payment_method_retrieve",  # GET /v1/payment_methods/{id}
    "unknown_route",  # 404: no such endpoint
    "unauthorized",  # 401
    "invalid_version",  # 400: Stripe-Version names no known API version
    "rate_limited",  # 429 rate_limit from the rate limits (rate_limit faults: "faulted")
    "lock_timeout",  # 429 lock_timeout: the object was being written by another request
    "invalid",  # 400 before execution: parameters failed validation
    "replayed",  # answered from a saved idempotent response
    "conflict",  # 409: the key's first request was still running
    "idempotency_error",  # 400: key reused with other parameters
    "faulted",  # answered (or dropped) by an injected fault instead of normally
)


class Ledger:
    """Counters since the last reset."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.rate_limits: Counter[str] = Counter()
        self.payment_intents = 0
        self.connections = 0
        self.by_request_id: dict[str, dict[str, Any]] = {}

    def count_request(self, counter: str) -> None:
        """One more request of this kind (see ``REQUEST_COUNTERS``)."""
        self.requests[counter] += 1

    def count_rate_limited(self, limit: str) -> None:
        """A 429 from a limit: ``global``, ``endpoint`` or ``lock_timeout``."""
        self.rate_limits[limit] += 1
        self.requests["lock_timeout" if limit == "lock_timeout" else "rate_limited"] += 1

    def count_fault(self, kind: str) -> None:
        """One more fault of this kind injected."""
        self.faults[kind] += 1

    def record_intent(self, intent: dict[str, Any], *, declined: bool) -> None:
        """A PaymentIntent was created (it is committed, whatever the client sees)."""
        self.payment_intents += 1
        self.statuses[intent["status"]] += 1
        request_id = (intent.get("metadata") or {}).get("request_id")
        if request_id is None:
            return
        entry = self.by_request_id.setdefault(
            request_id,
            {
                "created": 0,
                "succeeded": 0,
                "declined": 0,
                "amount": intent["amount"],
                "currency": intent["currency"],
                "customer": intent["customer"],
                "amount_succeeded": 0,
                "payment_intents": [],
            },
        )
        entry["created"] += 1
        entry["payment_intents"].append(intent["id"])
        if intent["status"] == "succeeded":
            entry["succeeded"] += 1
            entry["amount_succeeded"] += intent["amount"]
        if declined:
            entry["declined"] += 1

    def double_charges(self) -> list[str]:
        """Request IDs charged (succeeded) more than once: the bug this project exists to
        prevent."""
        return sorted(rid for rid, entry in self.by_request_id.items() if entry["succeeded"] > 1)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            "payment_intents": self.payment_intents,
            "statuses": dict(self.statuses),
            "by_request_id": {
                rid: {**entry, "payment_intents": list(entry["payment_intents"])}
                for rid, entry in self.by_request_id.items()
            },
            "double_charges": self.double_charges(),
            "requests": {name: self.requests[name] for name in REQUEST_COUNTERS},
            "faults": dict(self.faults),
            "rate_limits": dict(self.rate_limits),
            "connections": self.connections,
        }
