"""Lambda entry point (function URL): Stripe's webhook events, verified, applied once.

Answers, all JSON, none waits on anything but one secret read (cached) and one
conditional write:

- 400: no, a forged or a stale ``Stripe-Signature`` (``stripe.Webhook.construct_event``,
  tolerance ``WEBHOOK_TOLERANCE_SECONDS``), or a signed body that is not a readable event.
  Nothing is written. Counted (``WebhookSignatureInvalid``, ``WebhookMalformed``).
- 200: applied, already known (Stripe delivers at least once: a repeat changes nothing),
  late (a lower state), another event type, or a PaymentIntent this pipeline did not make.
- 503: a ``payment_failed`` for a request the ledger has not heard of yet (its charge is
  still in flight, or its result not yet read from the stream): Stripe sends it again
  later, by when the ledger knows whether the request is pending on this PaymentIntent.
- 500: the ledger could not be written (Stripe retries).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from ledger.container import ledger_table
from ledger.metric_names import LedgerMetric
from ledger.states import State
from ledger.store import LedgerTable
from webhooks.events import Ignored, MalformedEvent, fact_of

logger = Logger()
metrics = Metrics()

SECRET_NAME_ENV = "WEBHOOK_SECRET_NAME"  # noqa: S105 - a variable name, not a secret
TOLERANCE_ENV = "WEBHOOK_TOLERANCE_SECONDS"
#: Seconds the signing secret is cached before Secrets Manager is asked again (rotation).
SECRET_MAX_AGE_SECONDS = 300


@dataclass
class Endpoint:
    """The endpoint's collaborators: the ledger and the signing secret (``whsec_...``)."""

    ledger: LedgerTable
    signing_secret: Callable[[], str]
    tolerance_seconds: int = stripe.Webhook.DEFAULT_TOLERANCE


@functools.cache
def endpoint() -> Endpoint:
    """The container's collaborators, built on first use from the environment."""
    import boto3

    secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    name = os.environ[SECRET_NAME_ENV]
    return Endpoint(
        ledger=ledger_table(),
        signing_secret=lambda: str(secrets.get(name, max_age=SECRET_MAX_AGE_SECONDS)).strip(),
        tolerance_seconds=int(os.environ[TOLERANCE_ENV]),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_request(event, endpoint())


def handle_request(request: dict[str, Any], deps: Endpoint) -> dict[str, Any]:
    """Answer one function URL request (payload format 2.0)."""
    try:
        body = _raw_body(request)
        headers = {name.lower(): value for name, value in (request.get("headers") or {}).items()}
        event = stripe.Webhook.construct_event(
            body, headers.get("stripe-signature"), deps.signing_secret(), deps.tolerance_seconds
        )
    except stripe.SignatureVerificationError as error:
        # The SDK's message says which check failed; it quotes no secret.
        return _refuse(LedgerMetric.WEBHOOK_SIGNATURE_INVALID, "signature", str(error))
    except (ValueError, binascii.Error) as error:  # not UTF-8 / not JSON, once signed
        return _refuse(LedgerMetric.WEBHOOK_MALFORMED, "malformed_body", type(error).__name__)
    try:
        fact = fact_of(event.to_dict())
    except MalformedEvent as error:
        return _refuse(LedgerMetric.WEBHOOK_MALFORMED, "malformed_event", str(error))
    if isinstance(fact, Ignored):
        return _ignore(event.id, str(event.type), fact.value)
    logger.append_keys(request_id=fact.request_id, stripe_event_id=event.id)
    try:
        applied = deps.ledger.apply(fact)
        if not applied and fact.state is State.FAILED and deps.ledger.get(fact.request_id) is None:
            _count(LedgerMetric.WEBHOOK_DEFERRED)
            logger.info("webhook deferred: request not in the ledger yet", type=event.type)
            return _answer(503, {"deferred": "request not recorded yet"})
    except Exception:
        logger.exception("ledger write failed; Stripe will send the event again")
        return _answer(500, {"error": "ledger unavailable"})
    if not applied:
        return _ignore(event.id, str(event.type), "state_known_or_later")
    _count(LedgerMetric.WEBHOOK_APPLIED)
    logger.info(
        "webhook applied",
        type=event.type,
        state=fact.state.value,
        payment_intent_id=fact.payment_intent_id,
    )
    return _answer(200, {"received": True, "state": fact.state.value})


def _raw_body(request: dict[str, Any]) -> bytes:
    """The body exactly as Stripe signed it (function URLs base64-encode binary bodies)."""
    body = request.get("body") or ""
    if request.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode("utf-8")


def _refuse(metric: str, reason: str, detail: str) -> dict[str, Any]:
    _count(metric)
    logger.warning("webhook refused", reason=reason, detail=detail)
    return _answer(400, {"error": reason})


def _ignore(event_id: str, event_type: str, reason: str) -> dict[str, Any]:
    _count(LedgerMetric.WEBHOOK_IGNORED)
    logger.info("webhook ignored", stripe_event_id=event_id, type=event_type, reason=reason)
    return _answer(200, {"received": True, "ignored": reason})


def _count(metric: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
