"""Read a stored charge result from an idempotency-table stream record.

Powertools marks a record COMPLETED with ``data`` = the JSON of ``ChargeResult``
(``charges.outcomes``) in one UpdateItem; the stream's new image carries both. Every other
image (a claim in progress, a released claim, a TTL deletion) says nothing final.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from charges.claims import RecordAttribute
from charges.outcomes import ChargeResult
from ledger.facts import Fact, Source
from ledger.states import State
from ledger.stream_batch import UnreadableRecord

COMPLETED = "COMPLETED"


class UnexpectedRecord(UnreadableRecord):
    """A COMPLETED image that does not hold a charge result; ``reason`` says what is wrong."""


def stored_result(new_image: dict[str, Any] | None) -> ChargeResult | None:
    """The charge result a stream record's new image stores; None for any other image.

    Raises ``UnexpectedRecord`` for a completed record without a readable result.
    """
    if not new_image or new_image.get(RecordAttribute.STATUS) != COMPLETED:
        return None
    data = new_image.get(RecordAttribute.DATA)
    if not isinstance(data, str):
        raise UnexpectedRecord("no_result", f"{RecordAttribute.DATA} is not a string")
    try:
        return ChargeResult.model_validate_json(data)
    except ValidationError as error:
        # Field names and rules only: values could name a customer.
        fields = ",".join(".".join(map(str, item["loc"])) for item in error.errors())
        raise UnexpectedRecord("result_unreadable", fields) from None


def fact_of(result: ChargeResult, written_at: datetime | None) -> Fact:
    """The ledger fact a stored result states; ``written_at`` the stream record's time."""
    return Fact(
        request_id=result.request_id,
        state=State(result.outcome),
        source=Source.CHARGE_RECORD,
        at=written_at or datetime.now(UTC),
        customer=result.customer,
        amount=result.amount,
        currency=result.currency,
        payment_intent_id=result.payment_intent_id,
        stripe_status=result.status,
        error_code=result.error_code,
        decline_code=result.decline_code,
    )
