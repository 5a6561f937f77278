"""What the look-up decides from the PaymentIntents an earlier attempt left at Stripe, and
when a decline is tried again. Soft declines per Stripe's decline-code table
(docs.stripe.com/declines/codes); PaymentIntent statuses per
docs.stripe.com/payments/paymentintents/lifecycle."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from charges.contract import ChargeRequest
from charges.declines import SOFT_DECLINE_CODES, is_soft_decline
from charges.outcomes import ChargeResult, PoisonMessage, Reason, TransientFailure, settle_decline
from charges.payments import idempotency_key, judge_earlier_attempts

REQUEST = ChargeRequest(version=1, request_id="r-1", customer="cus_1", amount=1500, currency="usd")


def intent(status: str, *, code: str | None = None, decline_code: str | None = None, **over: Any):
    """A fake PaymentIntent with the fields the look-up reads."""
    error = SimpleNamespace(code=code, decline_code=decline_code) if code else None
    fields = {
        "id": f"pi_{status}_{code or 'ok'}",
        "status": status,
        "customer": "cus_1",
        "amount": 1500,
        "currency": "usd",
        "last_payment_error": error,
    }
    return SimpleNamespace(**(fields | over))


def soft() -> SimpleNamespace:
    return intent("requires_payment_method", code="card_declined", decline_code="try_again_later")


def test_a_succeeded_intent_is_the_charge_whatever_else_was_tried():
    earlier = judge_earlier_attempts(REQUEST, [soft(), intent("succeeded"), soft()], 3)
    assert earlier.result is not None
    assert (earlier.result.outcome, earlier.result.payment_intent_id) == (
        "charged",
        "pi_succeeded_ok",
    )


def test_a_processing_intent_is_pending_never_charged():
    earlier = judge_earlier_attempts(REQUEST, [intent("processing")], 3)
    assert earlier.result is not None
    assert (earlier.result.outcome, earlier.result.status) == ("pending", "processing")


def test_soft_declines_number_the_next_attempt():
    assert judge_earlier_attempts(REQUEST, [], 3) == (judge_earlier_attempts(REQUEST, [], 3))
    assert judge_earlier_attempts(REQUEST, [], 3).attempt == 0
    assert judge_earlier_attempts(REQUEST, [soft()], 3).attempt == 1
    two = judge_earlier_attempts(REQUEST, [soft(), soft()], 3)
    assert (two.result, two.attempt) == (None, 2)


def test_soft_declines_that_used_every_attempt_are_a_final_decline():
    earlier = judge_earlier_attempts(REQUEST, [soft(), soft(), soft()], 3)
    assert earlier.result is not None and earlier.result.outcome == "declined"
    assert earlier.result.decline_code == "try_again_later"


def test_a_hard_decline_found_is_final():
    lost = intent("requires_payment_method", code="card_declined", decline_code="lost_card")
    earlier = judge_earlier_attempts(REQUEST, [lost], 3)
    assert earlier.result is not None
    assert (earlier.result.outcome, earlier.result.decline_code) == ("declined", "lost_card")


def test_an_intent_never_confirmed_is_no_attempt():
    assert judge_earlier_attempts(REQUEST, [intent("requires_payment_method")], 3).attempt == 0


@pytest.mark.parametrize("other", [{"amount": 2000}, {"currency": "eur"}, {"customer": "cus_2"}])
def test_an_intent_for_another_payload_is_a_payload_conflict(other: dict[str, Any]):
    # Powertools skips payload validation on a takeover: the look-up is where it is caught.
    with pytest.raises(PoisonMessage) as caught:
        judge_earlier_attempts(REQUEST, [intent("succeeded", **other)], 3)
    assert caught.value.reason is Reason.PAYLOAD_CONFLICT


def declined(code: str, decline_code: str | None = None) -> ChargeResult:
    return ChargeResult(
        request_id="r-1",
        outcome="declined",
        payment_intent_id="pi_1",
        status="requires_payment_method",
        amount=1500,
        currency="usd",
        error_code=code,
        decline_code=decline_code,
    )


def test_a_soft_decline_is_transient_while_attempts_remain():
    with pytest.raises(TransientFailure) as caught:
        settle_decline(declined("card_declined", "try_again_later"), attempt=0, attempts=3)
    assert caught.value.reason is Reason.SOFT_DECLINE
    with pytest.raises(TransientFailure):
        settle_decline(declined("processing_error"), attempt=1, attempts=3)
    # the last attempt's soft decline is final
    final = declined("processing_error")
    assert settle_decline(final, attempt=2, attempts=3) is final


def test_a_hard_decline_is_final_at_once():
    hard = declined("card_declined", "insufficient_funds")
    assert settle_decline(hard, attempt=0, attempts=3) is hard


def test_soft_decline_codes_come_from_stripes_table():
    # "try again" codes of docs.stripe.com/declines/codes; processing_error arrives as the
    # error's code (docs.stripe.com/testing: pm_card_chargeDeclinedProcessingError)
    assert {"processing_error", "try_again_later", "reenter_transaction"} <= SOFT_DECLINE_CODES
    assert is_soft_decline("processing_error", None)
    assert is_soft_decline("card_declined", "reenter_transaction")
    assert not is_soft_decline("card_declined", "generic_decline")
    assert not is_soft_decline("authentication_required", "authentication_required")


def test_attempt_keys():
    assert idempotency_key("r-1") == idempotency_key("r-1", 0) == "chargeq-v1:r-1"
    assert idempotency_key("r-1", 2) == "chargeq-v1:r-1:attempt-2"
