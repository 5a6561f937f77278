"""What can become of a charge request, and what the function then does: the outcome policy.

A record ends one of these ways, decided here and nowhere else (what is counted, logged,
dead-lettered or handed back to SQS):

- **charged**, **declined** and **pending** are results. They are returned (not raised)
  by the payment step, so Powertools stores them and every redelivery gets the stored
  result back. ``pending`` is a PaymentIntent in ``processing`` (a bank debit): stored and
  counted as pending, never as a success, since it can still fail days later.
- **transient** (``TransientFailure``): the work may succeed later. The record is reported
  failed and SQS delivers it again; on its last allowed delivery it goes to the DLQ. A
  *soft* decline (``charges.declines``) is transient until ``soft_decline_attempts``
  attempts were made (``settle_decline``).
- **poison** (``PoisonMessage``): it can never succeed. It goes to the DLQ at once with a
  machine-readable reason and never reaches Stripe.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyKeyError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import BaseModel, ConfigDict, Field

from charges.declines import is_soft_decline
from charges.metric_names import MetricName
from charges.observability import count, logger


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
    NO_PAYMENT_METHOD = "no_payment_method"
    # Transient: the world is wrong for now.
    STRIPE_UNREACHABLE = "stripe_unreachable"
    STRIPE_RATE_LIMITED = "stripe_rate_limited"
    STRIPE_LOCK_TIMEOUT = "stripe_lock_timeout"
    STRIPE_IDEMPOTENCY_KEY_IN_USE = "stripe_idempotency_key_in_use"
    STRIPE_SERVER_ERROR = "stripe_server_error"
    STRIPE_AUTHENTICATION = "stripe_authentication"
    IDEMPOTENCY_STORE = "idempotency_store"
    IN_PROGRESS = "in_progress"
    SOFT_DECLINE = "soft_decline"
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
    """The record may succeed on a later delivery; nothing final happened."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ChargeResult(BaseModel):
    """The final result of one charge request, stored in the idempotency record.

    Only IDs, amounts and codes: no card data, nothing secret.
    """

    model_config = ConfigDict(frozen=True)

    request_id: str
    outcome: Literal["charged", "declined", "pending"]
    #: The request's customer, for the charges ledger (``ledger``), which reads results
    #: from the idempotency table's stream. None in results stored before it was added.
    customer: str | None = None
    payment_intent_id: str | None
    status: str
    amount: int
    currency: str
    error_code: str | None = None
    decline_code: str | None = None
    #: True when Powertools returned the stored result instead of charging (a suppressed
    #: duplicate). Set by ``mark_replayed``; never stored.
    replayed: bool = Field(False, exclude=True)


def mark_replayed(response: ChargeResult, idempotent_data: DataRecord) -> ChargeResult:
    """Powertools' ``response_hook``: called only when a stored result is returned."""
    del idempotent_data  # the stored record; the result says all we need
    return response.model_copy(update={"replayed": True})


def settle_decline(result: ChargeResult, attempt: int, attempts: int) -> ChargeResult:
    """A soft decline is tried again while attempts remain; every other result is final.

    ``attempt`` is the 0-based number of the attempt that produced ``result``;
    ``attempts`` the ``soft_decline_attempts`` setting. Raises ``TransientFailure`` (reason
    ``soft_decline``): the claim is released, SQS delivers the message again after the
    visibility timeout, and that delivery looks Stripe up, finds ``attempt + 1`` soft
    declines and makes the next attempt under its own key.
    """
    if result.outcome != "declined" or not is_soft_decline(result.error_code, result.decline_code):
        return result
    if attempt + 1 < attempts:
        raise TransientFailure(
            Reason.SOFT_DECLINE,
            f"attempt {attempt + 1} of {attempts}: {result.decline_code or result.error_code}",
        )
    return result


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


class DeadLetters(Protocol):
    """Where poison goes (``charges.dead_letters.DeadLetterQueue``)."""

    def send(self, record: SQSRecord, failure: PoisonMessage | TransientFailure) -> None: ...


def report(result: ChargeResult) -> None:
    """Log and count a final result; a replayed one is a suppressed duplicate."""
    if result.replayed:
        count(MetricName.DUPLICATE_SUPPRESSED)
    elif result.outcome == "charged":
        count(MetricName.SUCCEEDED)
    elif result.outcome == "pending":
        count(MetricName.PENDING)
    else:
        count(MetricName.DECLINED)
    logger.info(
        "charge " + ("replayed" if result.replayed else result.outcome),
        request_id=result.request_id,
        outcome=result.outcome,
        payment_intent_id=result.payment_intent_id,
        status=result.status,
        error_code=result.error_code,
        decline_code=result.decline_code,
    )


def settle_failure(
    record: SQSRecord, error: Exception, dead_letters: DeadLetters, max_receive_count: int
) -> None:
    """Dead-letter poison at once; re-raise a transient failure unless deliveries ran out.

    Raises ``TransientFailure`` to have SQS deliver the record again (also when the DLQ
    itself cannot be reached: the record is never dropped).
    """
    failure = classify(error)
    if failure is None:
        # Retrying an unknown error is safe (the claim and the Stripe key hold); losing
        # the message is not.
        logger.exception("unexpected error, will retry", message_id=record.message_id)
        failure = TransientFailure(Reason.UNEXPECTED_ERROR, type(error).__name__)
    if isinstance(failure, PoisonMessage):
        count(MetricName.POISON)
        if failure.reason is Reason.PAYLOAD_CONFLICT:
            count(MetricName.PAYLOAD_CONFLICT)
        dead_letter(record, failure, dead_letters)
        return
    count(MetricName.TRANSIENT_FAILURE)
    if failure.reason is Reason.STRIPE_RATE_LIMITED:
        count(MetricName.STRIPE_RATE_LIMITED)
    elif failure.reason is Reason.STRIPE_LOCK_TIMEOUT:
        # Two writes to one object at once: not the account's rate limit.
        count(MetricName.STRIPE_LOCK_TIMEOUT)
    elif failure.reason is Reason.SOFT_DECLINE:
        count(MetricName.SOFT_DECLINE)
    receive_count = int(record.attributes.approximate_receive_count)
    if receive_count >= max_receive_count:
        # The redrive policy would move it on the next receive, without a reason.
        exhausted = TransientFailure(
            Reason.RETRIES_EXHAUSTED, f"{failure.reason}: {failure.detail}"
        )
        dead_letter(record, exhausted, dead_letters)
        return
    logger.warning(
        "transient failure, SQS will deliver again",
        message_id=record.message_id,
        reason=str(failure.reason),
        detail=failure.detail,
        receive_count=receive_count,
    )
    raise failure


def dead_letter(
    record: SQSRecord, failure: PoisonMessage | TransientFailure, dead_letters: DeadLetters
) -> None:
    """Send to the DLQ; if that fails, fail the record so SQS keeps it."""
    try:
        dead_letters.send(record, failure)
    except Exception as error:
        logger.exception("could not dead-letter, will retry", message_id=record.message_id)
        raise TransientFailure(Reason.DLQ_UNAVAILABLE, type(error).__name__) from error
    logger.warning(
        "dead-lettered",
        message_id=record.message_id,
        reason=str(failure.reason),
        detail=failure.detail,
    )
