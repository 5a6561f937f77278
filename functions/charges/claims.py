"""Claim a request in the idempotency table before charging it (Powertools idempotency).

The protocol, carried out by Powertools around ``gateway.charge``:

1. put an INPROGRESS record keyed on ``request_id`` (fails if a live record exists);
2. charge;
3. on a result (charged or declined) mark the record COMPLETED with the result; on an
   exception delete the record so a later delivery can try again.

A redelivery of a completed request gets the stored result back with one DynamoDB call and
no Stripe call. A record left INPROGRESS by a process that died expires with the Lambda's
remaining time (``register_lambda_context``); the retry that follows reuses the same Stripe
idempotency key, so Stripe, not this table, is what keeps that retry from charging twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (
    PydanticSerializer,
)

from charges.contract import ChargeRequest
from charges.delivery import Delivery
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
    IN_PROGRESS_EXPIRY = "in_progress_expiration"  # epoch milliseconds
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


def persistence_layer(table_name: str, dynamodb_client: Any) -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer on ``table_name``, with the attribute names."""
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        boto3_client=dynamodb_client,
        key_attr=RecordAttribute.KEY,
        expiry_attr=RecordAttribute.EXPIRY,
        in_progress_expiry_attr=RecordAttribute.IN_PROGRESS_EXPIRY,
        status_attr=RecordAttribute.STATUS,
        data_attr=RecordAttribute.DATA,
        validation_key_attr=RecordAttribute.VALIDATION,
    )


def make_charge_once(
    gateway: PaymentGateway,
    persistence: BasePersistenceLayer,
    config: IdempotencyConfig,
) -> ChargeOnce:
    """Build ``charge_once(request=..., delivery=...)`` over the given collaborators.

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
    def charge_once(*, request: ChargeRequest, delivery: Delivery) -> ChargeResult:
        # Powertools hashes ``request`` only; ``delivery`` rides along unhashed.
        return gateway.charge(request, delivery)

    return charge_once
