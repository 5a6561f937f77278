"""A realistic, reproducible mix of charge requests, and what must become of each.

From one seed: mostly good charges, some declines (card declined, authentication
required), the same request sent twice, the same ``request_id`` reused with another amount
(a payload conflict), and poison bodies. Each message's expected fate is recorded so the
run can be checked against it afterwards.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

GOOD_CARD = "pm_card_visa"
DECLINING_CARDS = ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds")
AUTHENTICATION_CARD = "pm_card_authenticationRequired"


@dataclass(frozen=True)
class Message:
    """One message to send; poison ones bypass the producer client, which would refuse them."""

    body: str
    poison: bool = False


@dataclass
class Workload:
    """Messages in send order and the final state each request must reach."""

    messages: list[Message] = field(default_factory=list)
    #: request_id -> "charged" or "declined": the idempotency record must say so.
    outcomes: dict[str, str] = field(default_factory=dict)
    #: DLQ reason -> how many messages must end there with it.
    dead_letters: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.outcomes) + sum(
            count for reason, count in self.dead_letters.items() if reason != "payload_conflict"
        )


def _request(request_id: str, rng: random.Random, **overrides: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "request_id": request_id,
        "customer": f"cus_demo{rng.randrange(1, 50):03d}",
        "amount": rng.randrange(100, 50_000),
        "currency": "usd",
        "payment_method": GOOD_CARD,
        "metadata": {"source": "chargeq-demo"},
    } | overrides


def _poison(rng: random.Random, request_id: str) -> tuple[str, str]:
    """A body that can never succeed, and the reason it must be dead-lettered with."""
    good = _request(request_id, rng)
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


def build_workload(requests: int, seed: int) -> Workload:
    """``requests`` distinct requests as a shuffled stream of messages."""
    rng = random.Random(seed)
    work = Workload()
    for index in range(requests):
        request_id = f"demo-{seed}-{index:05d}"
        roll = rng.random()
        if roll < 0.04:
            body, reason = _poison(rng, request_id)
            work.messages.append(Message(body, poison=True))
            work.dead_letters[reason] += 1
            continue
        if roll < 0.09:
            request = _request(request_id, rng, payment_method=rng.choice(DECLINING_CARDS))
            work.outcomes[request_id] = "declined"
        elif roll < 0.11:
            request = _request(request_id, rng, payment_method=AUTHENTICATION_CARD)
            work.outcomes[request_id] = "declined"
        else:
            request = _request(request_id, rng)
            work.outcomes[request_id] = "charged"
        work.messages.append(Message(json.dumps(request)))
        if rng.random() < 0.05:  # the producer sends the very same request again
            work.messages.append(Message(json.dumps(request)))
        if rng.random() < 0.02:  # a buggy producer reuses the ID for another amount
            work.messages.append(Message(json.dumps(request | {"amount": request["amount"] + 1})))
            work.dead_letters["payload_conflict"] += 1
    rng.shuffle(work.messages)
    return work
