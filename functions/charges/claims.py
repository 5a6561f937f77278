"""Claim a request in the idempotency table before charging it (Powertools idempotency).

The protocol, carried out by Powertools around the charge:

1. put an INPROGRESS record keyed on ``request_id`` (a conditional put: refused while a
   live record exists);
2. charge;
3. on a result (charged, declined, pending) mark the record COMPLETED with the result; on
   an exception *release* the claim (``ClaimStore._delete_record``) so a later delivery
   can try again.

A redelivery of a completed request gets the stored result back with one DynamoDB call and
no Stripe call. A claim that replaces an earlier record (a *takeover*: the earlier claim
was released, or its in-progress time or its expiry ran out) is the durable evidence that
an earlier attempt may have reached Stripe, so the charge looks Stripe up first. The
evidence lives in the table this pipeline controls, never in SQS's delivery metadata
(receive count, ``SentTimestamp``, attributes), which a ``StartMessageMoveTask`` redrive
resets.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (
    PydanticSerializer,
)

from charges.contract import ChargeRequest
from charges.observability import logger
from charges.outcomes import ChargeResult, mark_replayed
from charges.payments import PaymentGateway

#: Pinned record-key prefix. Powertools would otherwise derive it from the module and
#: function name, and a rename would silently stop old records from protecting retries.
KEY_PREFIX = "chargeq.charge.v1"


class RecordAttribute:
    """The idempotency table's attribute names, passed to Powertools explicitly so the stack
    (key, TTL), the local runtime and ``chargeq status`` read the same names it writes."""

    KEY = "id"
    EXPIRY = "expiration"  # epoch seconds; the table's TTL attribute
    IN_PROGRESS_EXPIRY = "in_progress_expiration"  # epoch milliseconds; 0 once released
    STATUS = "status"
    DATA = "data"
    VALIDATION = "validation"


#: The fields that must match when a request_id is seen again; any difference is a
#: payload conflict (poison), never a silent replay of another charge's result.
PAYLOAD_FIELDS = "[customer, amount, currency, payment_method]"


ChargeOnce = Callable[..., ChargeResult]


def record_key(request_id: str) -> str:
    """The idempotency table key Powertools writes for ``request_id``.

    Mirrors Powertools' ``key_prefix#md5(json(key))``; a test holds it to the records the
    library really writes. Operators' tools (``chargeq status``) look records up with it.
    """
    digest = hashlib.md5(json.dumps(request_id, sort_keys=True).encode(), usedforsecurity=False)
    return f"{KEY_PREFIX}#{digest.hexdigest()}"


def idempotency_config(expires_after_seconds: int) -> IdempotencyConfig:
    """The idempotency settings: keyed on request_id, validated, never silently skipped."""
    return IdempotencyConfig(
        event_key_jmespath="request_id",
        payload_validation_jmespath=PAYLOAD_FIELDS,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
        # Tells a replayed result from a fresh one (a suppressed duplicate, counted apart).
        response_hook=mark_replayed,
    )


@dataclass(frozen=True)
class Takeover:
    """The earlier record a claim replaced: an attempt that may have reached Stripe.

    ``status`` is the earlier record's (INPROGRESS: released or timed out; COMPLETED: its
    expiry passed before DynamoDB's TTL deleted it); ``expiration`` its expiry, epoch
    seconds (each claim writes ``now + idempotency expiry``, so it dates the *last* claim).
    """

    status: str
    expiration: int


@runtime_checkable
class KeepsEvidence(Protocol):
    """A persistence layer that tells a claim what it took over (``ClaimStore``, and the
    unit tests' in-memory store)."""

    def takeover(self, idempotency_key: str) -> Takeover | None:
        """What this thread's last claim of ``idempotency_key`` replaced, if anything."""
        ...


class ClaimStore(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB persistence layer that keeps the evidence of earlier attempts.

    Two changes, both through documented seams (no private Powertools method is patched):

    - **Takeovers are learnt.** A botocore event hook on this layer's own DynamoDB client
      adds ``ReturnValues="ALL_OLD"`` to the claim's conditional PutItem: a put that
      replaced an item returns it (no extra request, no extra capacity: the put writes the
      item anyway). ``takeover(key)`` tells the charge about it, on the thread that claimed
      (the records of a batch are claimed concurrently, each on its own thread).
    - **A failed attempt releases its claim instead of deleting it** (``_delete_record``,
      the custom-store method Powertools calls when the wrapped function raises): the
      record stays INPROGRESS with ``in_progress_expiration = 0``, so the next delivery
      claims it at once and sees a takeover. If the update itself fails, the record stays
      INPROGRESS until its in-progress expiry: still evidence.

    Why the evidence outlives every retry: each claim re-puts the record with ``expiration
    = now + idempotency expiry``, the settings require that expiry to cover queue plus DLQ
    retention, and a message only comes back from the DLQ within that horizon of its last
    claim.
    """

    def __init__(self, table_name: str, dynamodb_client: Any) -> None:
        super().__init__(
            table_name=table_name,
            boto3_client=dynamodb_client,
            key_attr=RecordAttribute.KEY,
            expiry_attr=RecordAttribute.EXPIRY,
            in_progress_expiry_attr=RecordAttribute.IN_PROGRESS_EXPIRY,
            status_attr=RecordAttribute.STATUS,
            data_attr=RecordAttribute.DATA,
            validation_key_attr=RecordAttribute.VALIDATION,
        )
        self._claims = threading.local()
        events = self.client.meta.events
        events.register(
            "provide-client-params.dynamodb.PutItem",
            self._return_replaced_item,
            unique_id=f"chargeq-claim-params-{id(self)}",
        )
        events.register(
            "after-call.dynamodb.PutItem",
            self._note_takeover,
            unique_id=f"chargeq-claim-result-{id(self)}",
        )

    def takeover(self, idempotency_key: str) -> Takeover | None:
        """What this thread's last claim of ``idempotency_key`` replaced (once), if anything."""
        taken: dict[str, Takeover] = getattr(self._claims, "takeovers", {})
        return taken.pop(idempotency_key, None)

    def _return_replaced_item(self, params: dict[str, Any], context: dict[str, Any], **_: Any):
        """botocore ``provide-client-params``: ask the claim's put for the item it replaces."""
        # Only Powertools' conditional claim on this table (the client is this layer's own).
        if params.get("TableName") != self.table_name or "ConditionExpression" not in params:
            return
        params["ReturnValues"] = "ALL_OLD"
        context["chargeq_claim_key"] = params["Item"][self.key_attr]["S"]

    def _note_takeover(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any):
        """botocore ``after-call``: a successful claim that returned an item took it over."""
        key = context.get("chargeq_claim_key")
        if key is None:
            return
        taken: dict[str, Takeover] = self._claims.__dict__.setdefault("takeovers", {})
        taken.pop(key, None)
        replaced = parsed.get("Attributes")
        if "Error" in parsed or not replaced:
            return  # refused (a live record) or a fresh key: no takeover
        record = self._item_to_data_record(replaced)
        taken[key] = Takeover(status=record.status, expiration=int(record.expiry_timestamp or 0))

    def _delete_record(self, data_record: DataRecord) -> None:
        """Release the claim: expire its in-progress time, keep the record as evidence.

        Conditional on the record still being INPROGRESS: an UpdateItem would otherwise
        create a bare item for a key that vanished, and a completed result is never undone.
        """
        self.client.update_item(
            TableName=self.table_name,
            Key=self._get_key(data_record.idempotency_key),
            UpdateExpression="SET #in_progress_expiry = :released",
            ConditionExpression="#status = :inprogress",
            ExpressionAttributeNames={
                "#in_progress_expiry": self.in_progress_expiry_attr,
                "#status": self.status_attr,
            },
            ExpressionAttributeValues={
                ":released": {"N": "0"},
                ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
            },
        )


def persistence_layer(table_name: str, dynamodb_client: Any) -> ClaimStore:
    """The claim store on ``table_name``: Powertools' DynamoDB layer with the attribute names."""
    return ClaimStore(table_name, dynamodb_client)


def make_charge_once(
    gateway: PaymentGateway, persistence: BasePersistenceLayer, config: IdempotencyConfig
) -> ChargeOnce:
    """Build ``charge_once(request=...)`` over the given collaborators.

    A persistence layer that keeps no evidence (not ``KeepsEvidence``) gives none: every
    claim is then treated as a possible takeover and looks Stripe up first (safe, dearer).

    The decorator is applied here rather than at import so the table and the Stripe client
    are built by the caller once per container, and tests can pass their own.
    """

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        output_serializer=PydanticSerializer(ChargeResult),
        key_prefix=KEY_PREFIX,
    )
    def charge_once(*, request: ChargeRequest) -> ChargeResult:
        # Runs on the thread that claimed, right after the claim's put.
        if not isinstance(persistence, KeepsEvidence):
            return gateway.charge(request, look_up_first=True)
        takeover = persistence.takeover(record_key(request.request_id))
        if takeover is not None:
            logger.info(
                "claim took over an earlier attempt; looking Stripe up first",
                request_id=request.request_id,
                earlier_status=takeover.status,
            )
        return gateway.charge(request, look_up_first=takeover is not None)

    return charge_once
