"""Stripe's webhooks settle pending requests: the endpoint verifies each event's signature
with the stripe SDK, applies it once, in any order, and refuses anything it cannot trust.

Events are the Stripe emulator's own (real PaymentIntents the pipeline made), signed as
Stripe signs them (docs.stripe.com/webhooks, "Verify webhook signatures": ``t=<unix
seconds>,v1=<HMAC-SHA256 of "<t>.<body>">``) with the SDK's
``WebhookSignature.generate_signature_header``; the endpoint checks them with
``Webhook.construct_event`` (tolerance 300 s, the SDK's default).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import pytest
import stripe as stripe_sdk

from chargeq_local.streams import StreamReader, streams_client
from ledger.store import LedgerTable
from outbox.handler import handle_stream as write_ledger
from stripe_emulator import StripeEmulator
from tests.harness import Pipeline
from webhooks.handler import Endpoint, handle_request

SECRET = "whsec_test_endpoint_secret"


@pytest.fixture
def ledger(pipeline: Pipeline) -> LedgerTable:
    return LedgerTable(pipeline.dynamodb, pipeline.resources.ledger_table_name)


@pytest.fixture
def endpoint(ledger: LedgerTable) -> Endpoint:
    return Endpoint(ledger=ledger, signing_secret=lambda: SECRET, tolerance_seconds=300)


def url_request(body: bytes, signature: str | None, *, base64_body: bool = False) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0); headers arrive lower-cased."""
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return {
        "version": "2.0",
        "headers": headers,
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


def signed(event: dict[str, Any], *, at: int | None = None, secret: str = SECRET) -> dict[str, Any]:
    body = json.dumps(event).encode()
    header = stripe_sdk.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=at
    )
    return url_request(body, header)


def record_results(pipeline: Pipeline, ledger: LedgerTable) -> None:
    """Run the queue, then the idempotency stream into the ledger."""
    pipeline.drain()
    reader = StreamReader(streams_client(boto3), pipeline.resources.table_stream_arn)
    while reader.deliver(lambda event: write_ledger(event, None, ledger)):
        pass


def events_for(stripe: StripeEmulator, request_id: str, event_type: str) -> list[dict[str, Any]]:
    return [
        event
        for event in stripe.events()
        if event["type"] == event_type
        and event["data"]["object"]["metadata"].get("request_id") == request_id
    ]


def status_of(answer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return answer["statusCode"], json.loads(answer["body"])


def test_a_pending_bank_debit_becomes_charged_by_its_webhook(
    pipeline: Pipeline, stripe: StripeEmulator, ledger: LedgerTable, endpoint: Endpoint
):
    # GIVEN a bank debit recorded pending, which the bank then settles
    pipeline.send(pipeline.charge_body("ach-ok", payment_method="pm_usBankAccount_success"))
    record_results(pipeline, ledger)
    assert (ledger.get("ach-ok") or {}).get("state") == "pending"
    stripe.advance(10)
    (succeeded,) = events_for(stripe, "ach-ok", "payment_intent.succeeded")
    # WHEN Stripe sends payment_intent.succeeded, signed, twice (at least once)
    first = status_of(handle_request(signed(succeeded), endpoint))
    second = status_of(handle_request(signed(succeeded), endpoint))
    # THEN the request is charged once: applied, then acknowledged as already known
    assert first == (200, {"received": True, "state": "charged"})
    assert second == (200, {"received": True, "ignored": "state_known_or_later"})
    item = ledger.get("ach-ok")
    assert item is not None
    assert [t["state"] for t in item["transitions"]] == ["pending", "charged"]
    assert item["transitions"][1]["stripe_event_id"] == succeeded["id"]


def test_a_failed_bank_debit_ends_failed_and_a_late_processing_changes_nothing(
    pipeline: Pipeline, stripe: StripeEmulator, ledger: LedgerTable, endpoint: Endpoint
):
    # GIVEN a bank debit recorded pending, then failed by the bank (account closed)
    pipeline.send(pipeline.charge_body("ach-no", payment_method="pm_usBankAccount_accountClosed"))
    record_results(pipeline, ledger)
    stripe.advance(10)
    (failed,) = events_for(stripe, "ach-no", "payment_intent.payment_failed")
    (processing,) = events_for(stripe, "ach-no", "payment_intent.processing")
    # WHEN the failure arrives first and the processing event after it (any order)
    assert status_of(handle_request(signed(failed), endpoint))[0] == 200
    assert status_of(handle_request(signed(processing), endpoint))[0] == 200
    # THEN the request failed with the bank's code; the older fact did not overwrite it
    item = ledger.get("ach-no")
    assert item is not None
    assert (item["state"], item["error_code"]) == ("failed", "account_closed")


def test_webhooks_arriving_before_the_stream_settle_the_request_all_the_same(
    pipeline: Pipeline, stripe: StripeEmulator, ledger: LedgerTable, endpoint: Endpoint
):
    # GIVEN a bank debit charged by the function, its result not yet read from the stream
    pipeline.send(pipeline.charge_body("ach-early", payment_method="pm_usBankAccount_success"))
    pipeline.drain()
    stripe.advance(10)
    (processing,) = events_for(stripe, "ach-early", "payment_intent.processing")
    (succeeded,) = events_for(stripe, "ach-early", "payment_intent.succeeded")
    # WHEN succeeded arrives, then processing, then the stream's pending result
    handle_request(signed(succeeded), endpoint)
    handle_request(signed(processing), endpoint)
    record_results(pipeline, ledger)
    # THEN the request is charged: a lower state never replaces a higher one
    item = ledger.get("ach-early")
    assert item is not None and item["state"] == "charged"
    assert [t["state"] for t in item["transitions"]] == ["charged"]


def test_a_failure_for_a_request_not_yet_recorded_is_deferred(
    pipeline: Pipeline, stripe: StripeEmulator, ledger: LedgerTable, endpoint: Endpoint
):
    # GIVEN a card decline whose result the ledger has not read yet
    pipeline.send(pipeline.charge_body("card-no", payment_method="pm_card_visa_chargeDeclined"))
    pipeline.drain()
    (failed,) = events_for(stripe, "card-no", "payment_intent.payment_failed")
    # WHEN its payment_failed arrives first
    # THEN the endpoint asks Stripe to send it again, and writes nothing
    assert status_of(handle_request(signed(failed), endpoint))[0] == 503
    assert ledger.get("card-no") is None
    # AND once the ledger has the decline, the retry is acknowledged and changes nothing
    record_results(pipeline, ledger)
    assert status_of(handle_request(signed(failed), endpoint)) == (
        200,
        {"received": True, "ignored": "state_known_or_later"},
    )
    assert (ledger.get("card-no") or {}).get("state") == "declined"


def event_of(request_id: str = "x-1", **intent: Any) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "pi_x",
                "object": "payment_intent",
                "amount": 100,
                "currency": "usd",
                "customer": "cus_good",
                "status": "succeeded",
                "metadata": {"request_id": request_id},
            }
            | intent
        },
    }


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(url_request(json.dumps(event_of()).encode(), None), id="unsigned"),
        pytest.param(signed(event_of(), secret="whsec_someone_else"), id="forged"),
        pytest.param(signed(event_of(), at=int(time.time()) - 301), id="outside tolerance"),
        pytest.param(
            url_request(
                json.dumps(event_of(amount=1)).encode(),
                stripe_sdk.WebhookSignature.generate_signature_header(
                    json.dumps(event_of()), SECRET
                ),
            ),
            id="body changed after signing",
        ),
        pytest.param(url_request(b"", "t=1,v1=00"), id="empty"),
    ],
)
def test_anything_unsigned_forged_or_stale_gets_400_and_writes_nothing(
    request_: dict[str, Any], ledger: LedgerTable, endpoint: Endpoint
):
    answer = status_of(handle_request(request_, endpoint))
    assert answer == (400, {"error": "signature"})
    assert ledger.get("x-1") is None


def test_a_signed_body_that_is_not_json_is_malformed(endpoint: Endpoint):
    body = b"{not json"
    header = stripe_sdk.WebhookSignature.generate_signature_header(body.decode(), SECRET)
    assert status_of(handle_request(url_request(body, header), endpoint)) == (
        400,
        {"error": "malformed_body"},
    )


def test_a_base64_body_is_verified_as_sent(ledger: LedgerTable, endpoint: Endpoint):
    # GIVEN a function URL that base64-encoded the body (it does for some content types)
    body = json.dumps(event_of("b64-1")).encode()
    header = stripe_sdk.WebhookSignature.generate_signature_header(body.decode(), SECRET)
    # WHEN it is handled
    answer = status_of(handle_request(url_request(body, header, base64_body=True), endpoint))
    # THEN the signature holds over the decoded bytes and the event applies
    assert answer == (200, {"received": True, "state": "charged"})


def test_events_of_other_types_and_foreign_payment_intents_are_acknowledged_and_ignored(
    ledger: LedgerTable, endpoint: Endpoint
):
    other = event_of() | {"type": "charge.refunded"}
    foreign = event_of(metadata={})
    assert status_of(handle_request(signed(other), endpoint)) == (
        200,
        {"received": True, "ignored": "other_event_type"},
    )
    assert status_of(handle_request(signed(foreign), endpoint)) == (
        200,
        {"received": True, "ignored": "no_request_id"},
    )
    assert ledger.get("x-1") is None


def test_a_signed_event_without_a_readable_payment_intent_is_malformed(endpoint: Endpoint):
    broken = event_of() | {"data": {"object": {"object": "payment_intent", "metadata": {}}}}
    broken["data"]["object"]["metadata"] = {"request_id": "x-2"}
    answer = status_of(handle_request(signed(broken), endpoint))
    assert answer == (400, {"error": "malformed_event"})
