"""A fact about a charge request, learnt by one of the ledger's writers.

A fact moves the request to its ``state`` if that is forward (``ledger.states``); a
``failed`` fact (a PaymentIntent that failed after ``processing``) applies only to a request
pending on that very PaymentIntent, so the failed PaymentIntent of a soft-declined attempt
never ends a request that a later attempt charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ledger.states import State


class Source(StrEnum):
    """Who learnt the fact."""

    #: The charge function's stored result, read from the idempotency table's stream.
    CHARGE_RECORD = "charge_record"
    #: The charge function, when it dead-lettered the request.
    DEAD_LETTER = "dead_letter"
    #: A verified Stripe webhook event.
    STRIPE_WEBHOOK = "stripe_webhook"


@dataclass(frozen=True)
class Fact:
    """What is known about ``request_id`` at ``at`` (UTC). Fields left None are unknown
    to this source and left as they are; no card data, nothing secret."""

    request_id: str
    state: State
    source: Source
    at: datetime
    customer: str | None = None
    amount: int | None = None
    currency: str | None = None
    payment_intent_id: str | None = None
    stripe_status: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    #: Why a request was dead-lettered (``charges.outcomes.Reason``), and the detail.
    reason: str | None = None
    detail: str | None = None
    #: Stripe's event ID, for a fact learnt from a webhook.
    stripe_event_id: str | None = None

    @property
    def requires_pending_on(self) -> str | None:
        """The PaymentIntent the request must be pending on for this fact to apply."""
        return self.payment_intent_id if self.state is State.FAILED else None


def timestamp(at: datetime) -> str:
    """ISO 8601, UTC, milliseconds: sortable as a string (the GSI's sort key)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)
