"""What can become of a charge request, and which errors mean which outcome.

A record ends one of four ways, decided here and nowhere else:

- **charged** and **declined** are final results. They are returned (not raised) by the
  payment step, so Powertools stores them and every redelivery gets the stored result back.
- **transient** (``TransientFailure``): the work may succeed later. The record is reported
  failed and SQS delivers it again; on its last allowed delivery it goes to the DLQ.
- **poison** (``PoisonMessage``): it can never succeed. It goes to the DLQ at once with a
  machine-readable reason and never reaches Stripe.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyKeyError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from pydantic import BaseModel, ConfigDict


class Reason(StrEnum):
    """Machine-readable reasons, carried by DLQ messages and logs."""

    # Poison: the message itself is wrong.
    INVALID_JSON = "invalid_json"
    CONTRACT_VIOLATION = "contract_violation"
    LIMIT_EXCEEDED = "limit_exceeded"
    MISSING_REQUEST_ID = "missing_request_id"
    PAYLOAD_CONFLICT = "payload_conflict"
    STRIPE_INVALID_REQUEST = "stripe_invalid_request"
    STRIPE_IDEMPOTENCY_CONFLICT = "stripe_idempotency_conflict"
    # Transient: the world is wrong for now.
    STRIPE_UNREACHABLE = "stripe_unreachable"
    STRIPE_RATE_LIMITED = "stripe_rate_limited"
    STRIPE_SERVER_ERROR = "stripe_server_error"
    STRIPE_AUTHENTICATION = "stripe_authentication"
    IDEMPOTENCY_STORE = "idempotency_store"
    IN_PROGRESS = "in_progress"
    DLQ_UNAVAILABLE = "dlq_unavailable"
    UNEXPECTED_ERROR = "unexpected_error"
    # A transient failure that used up every delivery SQS allows.
    RETRIES_EXHAUSTED = "retries_exhausted"


class PoisonMessage(Exception):
    """The record can never succeed: dead-letter it now, with its reason."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TransientFailure(Exception):
    """The record may succeed on a later delivery; nothing final happened.

    ``replayed_server_error`` marks a 500 that Stripe saved for the idempotency key and
    replays: retrying with that key can never succeed.
    """

    def __init__(self, reason: Reason, detail: str, *, replayed_server_error: bool = False):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.replayed_server_error = replayed_server_error


class ChargeResult(BaseModel):
    """The final result of one charge request, stored in the idempotency record.

    Only IDs, amounts and codes: no card data, nothing secret.
    """

    model_config = ConfigDict(frozen=True)

    request_id: str
    outcome: Literal["charged", "declined"]
    payment_intent_id: str | None
    status: str
    amount: int
    currency: str
    error_code: str | None = None
    decline_code: str | None = None


def classify(error: Exception) -> PoisonMessage | TransientFailure | None:
    """Map an error raised while claiming or charging to its outcome.

    Returns None for errors this module does not know: the caller treats those as
    transient, since retrying an unknown error is safe and dropping it is not.
    """
    if isinstance(error, PoisonMessage | TransientFailure):
        return error
    if isinstance(error, IdempotencyValidationError):
        return PoisonMessage(
            Reason.PAYLOAD_CONFLICT,
            "request_id was already used with a different customer, amount, currency or "
            "payment method",
        )
    if isinstance(error, IdempotencyKeyError):
        return PoisonMessage(Reason.MISSING_REQUEST_ID, "no request_id to deduplicate on")
    if isinstance(error, IdempotencyAlreadyInProgressError):
        return TransientFailure(Reason.IN_PROGRESS, "another delivery is charging this request")
    if isinstance(error, IdempotencyPersistenceLayerError):
        return TransientFailure(Reason.IDEMPOTENCY_STORE, type(error).__name__)
    return None
