"""What a verified Stripe event means for the ledger (docs.stripe.com/api/events/types).

- ``payment_intent.succeeded``: the request is ``charged`` (at most one PaymentIntent per
  request succeeds, so this is always the charge);
- ``payment_intent.processing``: ``pending``;
- ``payment_intent.payment_failed``: ``failed``, but only for a request pending on this
  very PaymentIntent (``ledger.facts``): a card decline is recorded from the charge's own
  result as ``declined``, and a soft decline's PaymentIntent may be followed by a charge.

Order comes from the states, not from arrival: a late ``processing`` after ``succeeded``
ranks lower and changes nothing. Events for PaymentIntents without
``metadata.request_id`` were not made by this pipeline and are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ledger.facts import Fact, Source
from ledger.states import State

#: The event types the endpoint is enabled for, and the state each announces.
HANDLED_TYPES = {
    "payment_intent.succeeded": State.CHARGED,
    "payment_intent.processing": State.PENDING,
    "payment_intent.payment_failed": State.FAILED,
}


class Ignored(StrEnum):
    """Why a verified event changes nothing."""

    OTHER_TYPE = "other_event_type"
    NOT_OURS = "no_request_id"


class MalformedEvent(ValueError):
    """A signed event whose PaymentIntent lacks what Stripe always sends."""


def fact_of(event: dict[str, Any]) -> Fact | Ignored:
    """The ledger fact a verified event states, or why it is ignored.

    Raises ``MalformedEvent`` when the PaymentIntent cannot be read.
    """
    state = HANDLED_TYPES.get(str(event.get("type")))
    if state is None:
        return Ignored.OTHER_TYPE
    intent = (event.get("data") or {}).get("object")
    if not isinstance(intent, dict) or intent.get("object") != "payment_intent":
        raise MalformedEvent("data.object is not a PaymentIntent")
    request_id = (intent.get("metadata") or {}).get("request_id")
    if not request_id:
        return Ignored.NOT_OURS
    intent_id, amount, created = intent.get("id"), intent.get("amount"), event.get("created")
    if not isinstance(intent_id, str) or type(amount) is not int or type(created) is not int:
        raise MalformedEvent("PaymentIntent id, amount or event created missing")
    error = intent.get("last_payment_error") or {}
    customer = intent.get("customer")
    return Fact(
        request_id=str(request_id),
        state=state,
        source=Source.STRIPE_WEBHOOK,
        at=datetime.fromtimestamp(created, UTC),
        customer=customer if isinstance(customer, str) else None,
        amount=amount,
        currency=intent.get("currency"),
        payment_intent_id=intent_id,
        stripe_status=intent.get("status"),
        error_code=error.get("code") if state is State.FAILED else None,
        decline_code=error.get("decline_code") if state is State.FAILED else None,
        stripe_event_id=event.get("id"),
    )
