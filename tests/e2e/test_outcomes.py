"""The outcome side of the local stack: the webhook function behind its URL, the stream
consumers moving the ledger, and the outcome events a producer's subscription receives.

Real processes throughout: moto's server (DynamoDB and its streams, EventBridge, SQS,
Secrets Manager), the Stripe emulator sending signed webhooks, the webhook function in its
own process behind an HTTP server, the two stream consumers in worker processes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from chargeq_local.runner import STRIPE_API_KEY, LocalStack, PipelineRun, RunOptions
from chargeq_local.subscription import ReceivedEvent
from chargeq_local.workload import Message, Workload
from chargeq_soak.forgery import KINDS, forged_event, send_forgeries
from ledger.store import LedgerTable
from stripe_emulator.fixtures import create_customer
from stripe_emulator.signing import SIGNATURE_HEADER, signature_header


def eventually(probe: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"not within {seconds} s: {probe}")


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


@pytest.fixture(scope="module")
def secret(stack: LocalStack) -> str:
    answer = stack.client("secretsmanager").get_secret_value(
        SecretId=stack.resources.webhook_secret_name
    )
    return str(answer["SecretString"])


@pytest.fixture(scope="module")
def ledger(stack: LocalStack) -> LedgerTable:
    return LedgerTable(stack.client("dynamodb"), stack.resources.ledger_table_name)


def events_for(stack: LocalStack, request_id: str) -> list[ReceivedEvent]:
    assert stack.outcomes is not None
    return [event for event in stack.outcomes.events() if event.request_id == request_id]


def test_forged_webhooks_get_400_and_write_nothing(
    stack: LocalStack, secret: str, ledger: LedgerTable
):
    """docs.stripe.com/webhooks ("Verify webhook signatures"): a receiver verifies
    Stripe-Signature with the SDK and refuses a missing, wrong or stale (older than the
    tolerance, 300 s by default) signature; the function URL passes the raw body
    (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html, payload format 2.0)."""
    assert stack.outcomes is not None
    # GIVEN one forgery of each kind: no header, another secret, a stale timestamp, and a
    # genuine signature over another body
    # WHEN they are sent to the endpoint
    sent, not_refused = send_forgeries(stack.outcomes.webhook_url, secret, 8, "forged-e2e")
    # THEN every one got a 400 and the ledger holds none of their requests
    assert sent == {kind: 2 for kind in KINDS}
    assert not_refused == 0
    assert all(ledger.get(f"forged-e2e-{index:04d}") is None for index in range(8))
    # AND the answer names the reason
    status, answer = post(stack.outcomes.webhook_url, forged_event("forged-e2e-x", 1), {})
    assert (status, answer) == (400, {"error": "signature"})


def test_a_signed_webhook_gets_200_moves_the_ledger_and_is_published(
    stack: LocalStack, secret: str, ledger: LedgerTable
):
    """docs.stripe.com/webhooks: Stripe signs ``t=<now>,v1=HMAC-SHA256("<t>.<body>")``
    with the endpoint's secret; an endpoint answers 2xx. docs.stripe.com/api/events/types:
    ``payment_intent.processing`` is a bank debit waiting."""
    assert stack.outcomes is not None
    # GIVEN a signed payment_intent.processing for a PaymentIntent of ours
    now = int(time.time())
    event = json.loads(forged_event("webhook-e2e-1", now))
    event["type"] = "payment_intent.processing"
    event["data"]["object"]["status"] = "processing"
    body = json.dumps(event).encode()
    headers = {SIGNATURE_HEADER: signature_header(body, secret, now)}
    # WHEN it is posted to the endpoint
    status, answer = post(stack.outcomes.webhook_url, body, headers)
    # THEN it is applied: 200, the ledger pending with the transition's source
    assert (status, answer) == (200, {"received": True, "state": "pending"})
    item = ledger.get("webhook-e2e-1")
    assert item is not None and item["state"] == "pending"
    assert item["transitions"][0]["source"] == "stripe_webhook"
    # AND the same event again changes nothing (Stripe delivers at least once)
    assert post(stack.outcomes.webhook_url, body, headers)[1]["ignored"] == "state_known_or_later"
    # AND the publisher put charge.pending on the bus, once per change
    published = eventually(lambda: events_for(stack, "webhook-e2e-1"))
    assert {(e.detail_type, e.event_id) for e in published} == {
        ("charge.pending", "webhook-e2e-1/pending")
    }


def test_a_charge_reaches_the_ledger_through_the_stream_and_its_event_the_subscription(
    stack: LocalStack, ledger: LedgerTable
):
    """The idempotency table's stream feeds the ledger writer, the ledger's stream the
    publisher (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html); EventBridge delivers
    the event to the rule's SQS target (docs.aws.amazon.com/eventbridge/latest/userguide/
    eb-targets.html) and log group target; the emulator sends payment_intent.succeeded."""
    customer = create_customer(stack.stripe_url, STRIPE_API_KEY)
    request = {
        "version": 1,
        "request_id": "outcome-e2e-1",
        "customer": customer.id,
        "payment_method": customer.payment_method,
        "amount": 1234,
        "currency": "usd",
    }
    workload = Workload(messages=[Message(json.dumps(request))])
    # GIVEN the pipeline running, WHEN one charge request is sent
    with PipelineRun(stack, RunOptions(progress=False, redelivery_rate=0.0)) as run:
        run.send(workload)
        run.wait_until_quiet()
        # THEN the ledger says charged, with the PaymentIntent Stripe made
        item = eventually(lambda: ledger.get("outcome-e2e-1"))
    assert stack.outcomes is not None
    (intent,) = [
        pi
        for pi in stack.outcomes.control.payment_intents()
        if pi["metadata"].get("request_id") == "outcome-e2e-1"
    ]
    assert item["state"] == "charged"
    assert item["payment_intent_id"] == intent["id"] and intent["status"] == "succeeded"
    assert (item["customer"], item["amount"], item["currency"]) == (customer.id, 1234, "usd")
    # AND the subscription received charge.charged with its stable ID
    published = eventually(lambda: events_for(stack, "outcome-e2e-1"))
    assert {e.event_id for e in published} == {"outcome-e2e-1/charged"}
    assert published[0].sent_ms > 0
    # AND the log group the rule also targets holds it (what `chargeq outcomes` reads)
    logs = stack.client("logs")
    found = eventually(
        lambda: logs.filter_log_events(
            logGroupName=stack.resources.outcome_log_group_name,
            filterPattern='"outcome-e2e-1/charged"',
        )["events"]
    )
    assert json.loads(found[0]["message"])["detail-type"] == "charge.charged"
    # AND Stripe's webhook for it was delivered and answered 200
    deliveries = stack.outcomes.control.webhook_deliveries()
    ours = [d for d in deliveries if d["payment_intent"] == intent["id"]]
    assert ours and all(d["status"] == 200 for d in ours)


def test_a_consumer_re_reading_its_stream_publishes_the_same_ids_again(stack: LocalStack):
    """At least once (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): a replay from
    TRIM_HORIZON publishes every change again with the same ``event_id``, so a subscriber
    deduplicating on it sees each change once."""
    assert stack.outcomes is not None
    before = {e.event_id for e in stack.outcomes.events()}
    assert before, "run after the tests that publish"
    count = len(stack.outcomes.events())
    stack.outcomes.replay_streams()
    eventually(lambda: len(stack.outcomes.events()) >= count + len(before))  # type: ignore[union-attr]
    assert stack.outcomes.wait_drained(60, progress=False)
    assert {e.event_id for e in stack.outcomes.events()} == before
