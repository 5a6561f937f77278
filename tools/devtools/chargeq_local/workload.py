"""A realistic, reproducible mix of charge requests, and what must become of each.

From one seed and a pool of customers made through the Stripe API (``customers.py``):
mostly good charges, a share of them without ``payment_method`` (for customers saved with a
PaymentMethod only, charged through their ``invoice_settings.default_payment_method``, and
for legacy customers, through their ``default_source``), amounts near Stripe's 50-cent
minimum, bank debits (a US bank account: the PaymentIntent waits in ``processing``, the
outcome is ``pending``), declines (a saved card that fails, Stripe's declining test cards,
authentication required), soft declines (``processing_error``: tried again under new
attempt keys, then declined), the same request sent twice, the same ``request_id`` reused
with another amount (a payload conflict), and poison bodies. Each message's expected fate
is recorded so the run can be checked against it afterwards.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chargeq_local.customers import CustomerPool

#: Stripe's declining test cards, used directly (they cannot be attached).
DECLINING_CARDS = ("pm_card_visa_chargeDeclined", "pm_card_visa_chargeDeclinedInsufficientFunds")
#: Stripe's soft decline test card: ``processing_error``, "try again" (docs.stripe.com/testing,
#: decline codes); the pipeline tries ``soft_decline_attempts`` times, then declines.
SOFT_DECLINING_CARD = "pm_card_chargeDeclinedProcessingError"
#: Amounts at and just above Stripe's minimum charge for usd (docs.stripe.com/currencies).
NEAR_MINIMUM_AMOUNTS = (50, 51, 55, 99, 100)


@dataclass(frozen=True)
class Message:
    """One message to send; poison ones bypass the producer client, which would refuse them."""

    body: str
    poison: bool = False


@dataclass
class Workload:
    """Messages in send order and the final state each request must reach."""

    messages: list[Message] = field(default_factory=list)
    #: request_id -> "charged", "declined" or "pending": the idempotency record must say so.
    outcomes: dict[str, str] = field(default_factory=dict)
    #: DLQ reason -> how many messages must end there with it.
    dead_letters: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.outcomes) + sum(
            count for reason, count in self.dead_letters.items() if reason != "payload_conflict"
        )


def _request(
    request_id: str, rng: random.Random, customers: CustomerPool, **overrides: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "version": 1,
        "request_id": request_id,
        "amount": (
            rng.choice(NEAR_MINIMUM_AMOUNTS) if rng.random() < 0.2 else rng.randrange(100, 50_000)
        ),
        "currency": "usd",
        "metadata": {"source": "chargeq-demo"},
    }
    roll = rng.random()
    if roll < 0.05:  # no payment_method: the legacy card source is charged
        request["customer"] = rng.choice(customers.legacy).id
    elif roll < 0.10:  # no payment_method: the invoice default PaymentMethod is charged
        request["customer"] = rng.choice(customers.saved).id
    else:
        saved = rng.choice(customers.saved)
        request |= {"customer": saved.id, "payment_method": saved.payment_method}
    return request | overrides


def _poison(rng: random.Random, request_id: str, customers: CustomerPool) -> tuple[str, str]:
    """A body that can never succeed, and the reason it must be dead-lettered with."""
    good = _request(request_id, rng, customers)
    kind = rng.choice(["json", "amount", "currency", "extra", "missing", "limit", "array"])
    if kind == "json":
        return '{"request_id": "' + request_id + '", "amount": 12', "invalid_json"
    if kind == "array":
        return json.dumps([good]), "contract_violation"
    if kind == "missing":
        del good["request_id"]
        return json.dumps(good), "missing_request_id"
    if kind == "limit":
        return json.dumps(good | {"amount": 50_000_000}), "limit_exceeded"
    broken = {
        "amount": good | {"amount": -100},
        "currency": good | {"currency": "US Dollars"},
        "extra": good | {"card_number": "not allowed here"},
    }[kind]
    return json.dumps(broken), "contract_violation"


def build_workload(requests: int, seed: int, customers: CustomerPool) -> Workload:
    """``requests`` distinct requests for ``customers`` as a shuffled stream of messages."""
    rng = random.Random(seed)
    work = Workload()
    for index in range(requests):
        request_id = f"demo-{seed}-{index:05d}"
        roll = rng.random()
        if roll < 0.04:
            body, reason = _poison(rng, request_id, customers)
            work.messages.append(Message(body, poison=True))
            work.dead_letters[reason] += 1
            continue
        if roll < 0.065:
            card = rng.choice(DECLINING_CARDS)
            customer = rng.choice(customers.saved).id
            request = _request(request_id, rng, customers, customer=customer, payment_method=card)
            work.outcomes[request_id] = "declined"
        elif roll < 0.09:
            failing = customers.declining
            request = _request(
                request_id,
                rng,
                customers,
                customer=failing.id,
                payment_method=failing.payment_method,
            )
            work.outcomes[request_id] = "declined"
        elif roll < 0.11:
            needs = customers.authentication
            request = _request(
                request_id, rng, customers, customer=needs.id, payment_method=needs.payment_method
            )
            work.outcomes[request_id] = "declined"
        elif roll < 0.12:
            customer = rng.choice(customers.saved).id
            request = _request(
                request_id, rng, customers, customer=customer, payment_method=SOFT_DECLINING_CARD
            )
            work.outcomes[request_id] = "declined"
        elif roll < 0.17 and customers.bank_debit:
            debit = rng.choice(customers.bank_debit)
            # Named in the request, or the customer's invoice default.
            named = {"payment_method": debit.payment_method} if rng.random() < 0.5 else {}
            request = _request(request_id, rng, customers, customer=debit.id)
            request.pop("payment_method", None)
            request |= named
            work.outcomes[request_id] = "pending"
        else:
            request = _request(request_id, rng, customers)
            work.outcomes[request_id] = "charged"
        work.messages.append(Message(json.dumps(request)))
        if rng.random() < 0.05:  # the producer sends the very same request again
            work.messages.append(Message(json.dumps(request)))
        if rng.random() < 0.02:  # a buggy producer reuses the ID for another amount
            work.messages.append(Message(json.dumps(request | {"amount": request["amount"] + 1})))
            work.dead_letters["payload_conflict"] += 1
    rng.shuffle(work.messages)
    return work
