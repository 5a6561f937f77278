"""Check the ledger and the outcome events of a finished run against Stripe and the DLQ.

For every request the run knows of (the workload's, the DLQ's, the PaymentIntents' and
the ledger's own request IDs), the ledger's final state must be what Stripe and the DLQ
say happened:

- ``charged`` <=> a succeeded PaymentIntent with ``metadata.request_id``;
- ``pending`` <=> a ``processing`` one (a bank debit not settled yet);
- ``failed`` <=> a bank debit that failed after ``processing``;
- ``declined`` <=> PaymentIntents, none succeeded or processing;
- ``dead_lettered`` <=> in the DLQ, with the ledger's reason among its messages' reasons,
  and nothing succeeded or processing at Stripe;
- no item <=> nothing at Stripe and nothing in the DLQ (a forged webhook, say, wrote
  nothing), or only messages the redrive policy moved there (the function never saw them).

And the events: every state change the ledger recorded (each item's ``transitions``) was
published at least once, and nothing was published that the ledger did not record. Events
are counted by kind once each (deduplicated on ``event_id``, as a subscriber does), copies
counted apart.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chargeq_local.subscription import ReceivedEvent
from ledger.states import State, event_id

#: Bank-debit payment method types: a failure after ``processing`` is the ledger's ``failed``.
BANK_DEBITS = ("us_bank_account", "sepa_debit")
#: Moved to the DLQ by the queue's redrive policy, bypassing the function: the ledger may
#: not know them (``charges.dead_letter_ledger``, "Not covered"; the DLQ alarm covers them).
UNRECORDED_REASONS = frozenset({"redrive_policy"})


@dataclass
class OutcomeCheck:
    """The outcome side of a run's report."""

    events_by_kind: dict[str, int] = field(default_factory=dict)
    duplicate_events: int = 0
    #: ``pending -> charged`` / ``pending -> failed``: bank debits settled by webhook.
    settled: dict[str, int] = field(default_factory=dict)
    ledger_items: int = 0
    ledger_mismatches: int = 0
    unpublished: int = 0
    phantom_events: int = 0
    #: The streams, webhooks and subscription were drained before the check.
    drained: bool = True
    drain_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return (
            self.drained
            and self.ledger_mismatches == 0
            and self.unpublished == 0
            and self.phantom_events == 0
        )


@dataclass
class _AtStripe:
    succeeded: int = 0
    processing: int = 0
    bank_failed: int = 0
    intents: int = 0


def check_outcomes(
    *,
    request_ids: set[str],
    ledger_items: list[dict[str, Any]],
    payment_intents: list[dict[str, Any]],
    dead_letters: list[tuple[str, str | None]],
    events: list[ReceivedEvent],
    drained: bool = True,
    drain_seconds: float = 0.0,
) -> OutcomeCheck:
    """Compare the ledger (plain items) with Stripe's PaymentIntents and the DLQ's
    (reason, request_id) pairs, and the ledger's transitions with the events received."""
    result = OutcomeCheck(drained=drained, drain_seconds=drain_seconds)
    if not drained:
        result.problems.append("the streams and webhooks did not drain before the check")
    ledger = {str(item["request_id"]): item for item in ledger_items}
    stripe: dict[str, _AtStripe] = {}
    for intent in payment_intents:
        request_id = (intent.get("metadata") or {}).get("request_id")
        if request_id:
            _tally(stripe.setdefault(str(request_id), _AtStripe()), intent)
    reasons: dict[str, set[str]] = {}
    for reason, request_id in dead_letters:
        if request_id:
            reasons.setdefault(request_id, set()).add(reason)
    known = request_ids | set(ledger) | set(stripe) | set(reasons)
    for request_id in sorted(known):
        item = ledger.get(request_id)
        state = item.get("state") if item else None
        allowed = _allowed(stripe.get(request_id, _AtStripe()), reasons.get(request_id, set()))
        agrees = state in allowed
        if agrees and state == State.DEAD_LETTERED and item is not None:
            agrees = item.get("reason") in reasons.get(request_id, set())
        if not agrees:
            result.ledger_mismatches += 1
            result.problems.append(
                f"ledger says {state or 'nothing'} for {request_id}, Stripe and the DLQ "
                f"say {' or '.join(sorted(str(a) for a in allowed))}"
            )
    result.ledger_items = len(ledger)
    _check_events(result, ledger, events)
    return result


def _tally(at: _AtStripe, intent: dict[str, Any]) -> None:
    at.intents += 1
    status = intent.get("status")
    if status == "succeeded":
        at.succeeded += 1
    elif status == "processing":
        at.processing += 1
    else:
        method = (intent.get("last_payment_error") or {}).get("payment_method") or {}
        if isinstance(method, dict) and method.get("type") in BANK_DEBITS:
            at.bank_failed += 1


def _allowed(at: _AtStripe, reasons: set[str]) -> set[str | None]:
    """The ledger states that agree with Stripe and the DLQ (None: no item)."""
    if at.succeeded:
        return {State.CHARGED.value}
    if at.processing:
        return {State.PENDING.value}
    if at.bank_failed:
        return {State.FAILED.value}
    allowed: set[str | None] = set()
    if at.intents:
        allowed.add(State.DECLINED.value)
    if reasons:
        allowed.add(State.DEAD_LETTERED.value)
    if reasons and reasons <= UNRECORDED_REASONS:
        allowed.add(None)
    return allowed or {None}


def _check_events(
    result: OutcomeCheck, ledger: dict[str, dict[str, Any]], events: list[ReceivedEvent]
) -> None:
    recorded: set[str] = set()
    settled: Counter[str] = Counter()
    for request_id, item in ledger.items():
        states = [str(transition["state"]) for transition in item.get("transitions", [])]
        recorded.update(event_id(request_id, State(state)) for state in states)
        for before, after in itertools.pairwise(states):
            if before == State.PENDING and State(after).is_final:
                settled[f"{before} -> {after}"] += 1
    unique: dict[str, ReceivedEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    published = set(unique)
    result.duplicate_events = len(events) - len(unique)
    result.events_by_kind = dict(Counter(event.detail_type for event in unique.values()))
    result.settled = dict(settled)
    unpublished = sorted(recorded - published)
    phantom = sorted(published - recorded)
    result.unpublished = len(unpublished)
    result.phantom_events = len(phantom)
    result.problems += [f"state change {eid} recorded but never published" for eid in unpublished]
    result.problems += [f"event {eid} published but not in the ledger" for eid in phantom]
