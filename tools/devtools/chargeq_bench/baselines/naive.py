"""The "before" job, as a Lambda handler: the baseline the benchmarks and soak compare against.

Written like the card's first ``ChargeUserJob``: for every message it calls Stripe, with no
idempotency record and no idempotency key, and lets the queue retry anything that fails.
It is never deployed; it exists so the reports can show what the protocol prevents.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import boto3
import stripe


@functools.cache
def _client() -> stripe.StripeClient:
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=os.environ["STRIPE_SECRET_NAME"]
    )["SecretString"]
    return stripe.StripeClient(
        secret,
        base_addresses={"api": os.environ["STRIPE_API_BASE"]},
        http_client=stripe.RequestsClient(timeout=float(os.environ["STRIPE_TIMEOUT_SECONDS"])),
    )


def lambda_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            request = json.loads(record["body"])
            params = {
                "amount": request["amount"],
                "currency": request["currency"],
                "customer": request["customer"],
                "confirm": True,
                "off_session": True,
                "metadata": {"request_id": request["request_id"]},
            }
            if request.get("payment_method"):
                params["payment_method"] = request["payment_method"]
            _client().v1.payment_intents.create(params=params)  # type: ignore[arg-type]
        except stripe.CardError:
            pass  # a decline: the job "worked"
        except Exception:  # anything else: let SQS retry the message
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
