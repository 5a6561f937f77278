"""The Powertools-docs handler: the sequential baseline the benchmark compares against.

Written the way the Powertools documentation shows idempotency inside batch processing:
a module-level ``BatchProcessor`` and ``DynamoDBPersistenceLayer``, an
``idempotent_function`` per record keyed on the body's ``request_id``, and
``process_partial_response``, which handles the records one after another. The Stripe call
carries an idempotency key derived from ``request_id``, as it should. It is a fair
baseline, not a strawman: it charges each request once and replays duplicates from the
table; what it does not do is overlap the records' Stripe calls. It is never deployed.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import stripe
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

processor = BatchProcessor(event_type=EventType.SQS)
persistence_layer = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])
config = IdempotencyConfig(event_key_jmespath="powertools_json(body).request_id")


@functools.cache
def _stripe() -> stripe.StripeClient:
    # The docs' pattern for a secret: fetched on first use and cached by Powertools.
    api_key = parameters.get_secret(os.environ["STRIPE_SECRET_NAME"])
    return stripe.StripeClient(
        str(api_key),
        base_addresses={"api": os.environ["STRIPE_API_BASE"]},
        http_client=stripe.RequestsClient(timeout=float(os.environ["STRIPE_TIMEOUT_SECONDS"])),
    )


@idempotent_function(
    data_keyword_argument="record", config=config, persistence_store=persistence_layer
)
def record_handler(record: SQSRecord) -> dict[str, Any]:
    """Charge one request; a decline is a stored result, anything else raises to retry."""
    request = record.json_body
    params: dict[str, Any] = {
        "amount": request["amount"],
        "currency": request["currency"],
        "customer": request["customer"],
        "confirm": True,
        "off_session": True,
        "metadata": {"request_id": request["request_id"]},
    }
    if request.get("payment_method"):
        params["payment_method"] = request["payment_method"]
    try:
        intent = _stripe().v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"charge:{request['request_id']}"},
        )
    except stripe.CardError as error:
        return {"request_id": request["request_id"], "status": "declined", "code": error.code}
    return {"request_id": request["request_id"], "status": intent.status, "id": intent.id}


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config.register_lambda_context(context)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
