"""In-memory stand-ins behind the function's interfaces: no client, no server.

- ``InMemoryPersistenceLayer``: Powertools' documented custom-store interface
  (``BasePersistenceLayer``: ``_get_record``, ``_put_record``, ``_update_record``,
  ``_delete_record``; https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/#bring-your-own-persistent-store)
  with the conditions ``DynamoDBPersistenceLayer`` puts on DynamoDB: a claim succeeds when
  no record exists, when the record expired, or when it is INPROGRESS past its in-progress
  expiry; otherwise it fails and hands back the stored record, as
  ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` does, after checking the payload.
- ``FakeGateway``: a ``charges.payments.PaymentGateway`` answering from a script.
- ``FakeDeadLetters``: a ``charges.outcomes.DeadLetters`` keeping what it was sent.

A stand-in is never kinder than the service: none of these forgives what the real one
refuses.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)
from botocore.exceptions import ClientError

from charges.claims import Takeover
from charges.contract import ChargeRequest
from charges.outcomes import ChargeResult, PoisonMessage, TransientFailure


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """The idempotency table as a dict, with DynamoDB's conditional-write semantics, keeping
    the evidence of earlier attempts as ``charges.claims.ClaimStore`` does: a claim that
    replaced a record is a takeover, and a failed attempt releases its claim."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}
        # What each thread's last claim of a key took over (as charges.claims.ClaimStore).
        self._takeovers = threading.local()
        #: Refuse every claim with the error DynamoDB returns when it throttles.
        self.throttled = False
        # DynamoDB applies a conditional write atomically; records run on several threads.
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            if idempotency_key not in self.records:
                raise IdempotencyItemNotFoundError
            return copy.copy(self.records[idempotency_key])

    def _put_record(self, data_record: DataRecord) -> None:
        if self.throttled:
            raise throttling_error("PutItem")
        now = dt.datetime.now()
        with self._lock:
            stored = self.records.get(data_record.idempotency_key)
            if stored is not None and not _claimable(stored, now):
                old = copy.copy(stored)
                # As DynamoDBPersistenceLayer does with the item DynamoDB returns.
                self._validate_payload(data_payload=data_record, stored_data_record=old)
                raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            self.records[data_record.idempotency_key] = copy.copy(data_record)
        taken: dict[str, Takeover] = self._takeovers.__dict__.setdefault("taken", {})
        taken.pop(data_record.idempotency_key, None)
        if stored is not None:
            # A claim that replaced a record took it over (ClaimStore learns it from the
            # put's ReturnValues=ALL_OLD).
            taken[data_record.idempotency_key] = Takeover(
                status=stored.status, expiration=int(stored.expiry_timestamp or 0)
            )

    def takeover(self, idempotency_key: str) -> Takeover | None:
        """What this thread's last claim of ``idempotency_key`` replaced, once."""
        taken: dict[str, Takeover] = self._takeovers.__dict__.setdefault("taken", {})
        return taken.pop(idempotency_key, None)

    def _update_record(self, data_record: DataRecord) -> None:
        # UpdateItem writes the result, expiry, status and payload hash; it creates the
        # item if it is gone (DynamoDB's UpdateItem is an upsert without a condition).
        with self._lock:
            stored = self.records.get(data_record.idempotency_key)
            updated = copy.copy(stored) if stored else DataRecord(data_record.idempotency_key)
            updated.response_data = data_record.response_data
            updated.expiry_timestamp = data_record.expiry_timestamp
            updated._status = data_record.status
            if self.payload_validation_enabled:
                updated.payload_hash = data_record.payload_hash
            self.records[data_record.idempotency_key] = updated

    def _delete_record(self, data_record: DataRecord) -> None:
        # As ClaimStore: release the claim (in-progress expiry 0), keep the record; only an
        # INPROGRESS record (the conditional UpdateItem refuses anything else).
        with self._lock:
            stored = self.records.get(data_record.idempotency_key)
            if stored is None or stored._status != STATUS_CONSTANTS["INPROGRESS"]:
                raise conditional_check_failed("UpdateItem")
            stored.in_progress_expiry_timestamp = 0

    def statuses(self) -> list[str]:
        """The stored records' statuses, sorted."""
        with self._lock:
            return sorted(record.status for record in self.records.values())


def throttling_error(operation: str) -> ClientError:
    """The ``ClientError`` a DynamoDB client raises when a table throttles a request
    (HTTP 400, ``ProvisionedThroughputExceededException``; DynamoDB Developer Guide, "Error
    handling": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html)."""
    return ClientError(
        {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "The level of configured provisioned throughput for the table was "
                "exceeded.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def conditional_check_failed(operation: str) -> ClientError:
    """The ``ClientError`` DynamoDB raises when a write's condition is false."""
    return ClientError(
        {
            "Error": {
                "Code": "ConditionalCheckFailedException",
                "Message": "The conditional request failed",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def _claimable(stored: DataRecord, now: dt.datetime) -> bool:
    """DynamoDBPersistenceLayer's condition: ``attribute_not_exists(#id) OR #expiry < :now
    OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND
    #in_progress_expiry < :now_in_millis)``; the item exists here."""
    if stored.expiry_timestamp is not None and stored.expiry_timestamp < int(now.timestamp()):
        return True
    in_progress_expiry = stored.in_progress_expiry_timestamp
    return (
        stored._status == STATUS_CONSTANTS["INPROGRESS"]
        and in_progress_expiry is not None
        and in_progress_expiry < int(now.timestamp() * 1000)
    )


#: What the fake gateway does for one charge: return a result, or raise.
Answer = Callable[[ChargeRequest], ChargeResult]


def charged(request: ChargeRequest) -> ChargeResult:
    """A succeeded PaymentIntent for ``request``."""
    return ChargeResult(
        request_id=request.request_id,
        outcome="charged",
        customer=request.customer,
        payment_intent_id=f"pi_{request.request_id}",
        status="succeeded",
        amount=request.amount,
        currency=request.currency,
    )


def declined(request: ChargeRequest) -> ChargeResult:
    """A card decline, as ``StripeGateway`` reports a ``CardError``."""
    return ChargeResult(
        request_id=request.request_id,
        outcome="declined",
        customer=request.customer,
        payment_intent_id=f"pi_{request.request_id}",
        status="requires_payment_method",
        amount=request.amount,
        currency=request.currency,
        error_code="card_declined",
        decline_code="generic_decline",
    )


def raising(error: PoisonMessage | TransientFailure | Exception) -> Answer:
    """An answer that raises ``error``."""

    def answer(request: ChargeRequest) -> ChargeResult:
        raise error

    return answer


@dataclass
class FakeGateway:
    """A payment gateway answering each request from a script: the request's scripted
    answers in order, then ``charged``. ``before_answer`` runs first on every call (a test
    can hold calls there to make them overlap)."""

    script: dict[str, list[Answer]] = field(default_factory=lambda: defaultdict(list))
    #: (request_id, look_up_first) of each call.
    calls: list[tuple[str, bool]] = field(default_factory=list)
    before_answer: Callable[[], object] | None = None
    #: Runs with the request on every call, after ``before_answer``.
    holding: Callable[[ChargeRequest], object] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def will(self, request_id: str, *answers: Answer) -> None:
        """Script the next answers for ``request_id``."""
        self.script[request_id].extend(answers)

    def charge(self, request: ChargeRequest, *, look_up_first: bool) -> ChargeResult:
        with self._lock:
            self.calls.append((request.request_id, look_up_first))
            scripted = self.script.get(request.request_id)
            answer = scripted.pop(0) if scripted else charged
        if self.before_answer:
            self.before_answer()
        if self.holding:
            self.holding(request)
        return answer(request)

    def charges_of(self, request_id: str) -> int:
        """How often ``request_id`` reached the gateway."""
        with self._lock:
            return sum(1 for called, _ in self.calls if called == request_id)


@dataclass
class FakeDeadLetters:
    """The DLQ: keeps each record sent with its failure; ``unavailable`` makes sends fail
    the way an SQS client does (it raises)."""

    sent: list[tuple[SQSRecord, PoisonMessage | TransientFailure]] = field(default_factory=list)
    unavailable: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, record: SQSRecord, failure: PoisonMessage | TransientFailure) -> None:
        if self.unavailable:
            raise ConnectionError("the DLQ cannot be reached")
        with self._lock:
            self.sent.append((record, failure))

    def reasons(self) -> list[str]:
        with self._lock:
            return sorted(str(failure.reason) for _, failure in self.sent)
