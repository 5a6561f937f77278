"""The run report's outcome check: it must fail when the ledger and Stripe disagree, when a
state change was not published, or when an event was published that the ledger never
recorded (so a green demo or soak means something)."""

from __future__ import annotations

from typing import Any

from chargeq_local.outcome_check import check_outcomes
from chargeq_local.subscription import ReceivedEvent


def item(request_id: str, *states: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "state": states[-1],
        "transitions": [{"state": state} for state in states],
        **({"reason": reason} if reason else {}),
    }


def intent(request_id: str, status: str, bank: bool = False) -> dict[str, Any]:
    error = {"payment_method": {"type": "us_bank_account"}} if bank else None
    return {"metadata": {"request_id": request_id}, "status": status, "last_payment_error": error}


def event(request_id: str, state: str) -> ReceivedEvent:
    return ReceivedEvent(f"{request_id}/{state}", f"charge.{state}", request_id, state, 1)


def test_a_ledger_that_agrees_and_was_published_holds():
    check = check_outcomes(
        request_ids={"a", "b", "c", "d"},
        ledger_items=[
            item("a", "pending", "charged"),
            item("b", "declined"),
            item("c", "dead_lettered", reason="contract_violation"),
            item("d", "pending", "failed"),
        ],
        payment_intents=[
            intent("a", "succeeded"),
            intent("b", "requires_payment_method"),
            intent("d", "requires_payment_method", bank=True),
        ],
        dead_letters=[("contract_violation", "c")],
        events=[
            event("a", "pending"),
            event("a", "charged"),
            event("a", "charged"),
            event("b", "declined"),
            event("c", "dead_lettered"),
            event("d", "pending"),
            event("d", "failed"),
        ],
    )
    assert check.holds, check.problems
    assert check.duplicate_events == 1
    assert check.settled == {"pending -> charged": 1, "pending -> failed": 1}
    assert check.events_by_kind["charge.charged"] == 1


def test_disagreements_unpublished_changes_and_phantom_events_are_caught():
    check = check_outcomes(
        request_ids={"a", "b", "c"},
        ledger_items=[
            item("a", "charged"),  # Stripe has no succeeded PaymentIntent for it
            item("b", "pending"),  # Stripe's debit already succeeded
            item("forged-1", "charged"),  # no request, no charge: a forgery got through
            item("c", "dead_lettered", reason="invalid_json"),  # the DLQ says another reason
        ],
        payment_intents=[intent("a", "requires_payment_method"), intent("b", "succeeded")],
        dead_letters=[("contract_violation", "c")],
        events=[event("a", "charged"), event("z", "charged")],
    )
    assert not check.holds
    assert check.ledger_mismatches == 4
    assert check.unpublished == 3  # b/pending, forged-1/charged, c/dead_lettered
    assert check.phantom_events == 1  # z/charged
    assert check.problems


def test_a_request_only_the_redrive_policy_moved_may_be_missing_from_the_ledger():
    # charges.dead_letter_ledger: the redrive policy bypasses the function ("Not covered")
    check = check_outcomes(
        request_ids={"a"},
        ledger_items=[],
        payment_intents=[],
        dead_letters=[("redrive_policy", "a")],
        events=[],
    )
    assert check.holds, check.problems


def test_an_undrained_run_does_not_hold():
    check = check_outcomes(
        request_ids=set(), ledger_items=[], payment_intents=[], dead_letters=[], events=[],
        drained=False,
    )  # fmt: skip
    assert not check.holds
