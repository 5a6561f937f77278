"""Each class of Stripe failure lands in its outcome, and none of them charges twice.

Faults are injected by the Stripe emulator; the stripe SDK's own retries (two, with the
same idempotency key) run as they do in production.
"""

from __future__ import annotations

from chargeq.status import read_status
from stripe_emulator import StripeEmulator
from tests.harness import Pipeline

DAY = 24 * 3600


def ledger_entry(stripe: StripeEmulator, request_id: str) -> dict:
    return dict(stripe.ledger()["by_request_id"].get(request_id, {}))


def test_a_rate_limited_request_is_sent_again_after_a_back_off(
    pipeline: Pipeline, stripe: StripeEmulator
):
    """docs.stripe.com/rate-limits: handle 429s with exponential back-off and jitter; a
    refused request never ran, so nothing is saved for its key (docs.stripe.com/idempotency)."""
    # GIVEN Stripe answers 429 rate_limit twice (without Stripe-Should-Retry: the SDK
    # itself does not retry)
    stripe.add_fault({"kind": "rate_limit", "count": 2})
    pipeline.send(pipeline.charge_body("rl-1"))
    # WHEN the record is delivered once
    report = pipeline.run_batch()
    # THEN the gateway backed off and sent it again: charged once, in this delivery
    assert report.deleted == 1
    assert stripe.ledger()["faults"]["rate_limit"] == 2
    assert ledger_entry(stripe, "rl-1")["succeeded"] == 1


def test_a_record_still_rate_limited_after_the_retries_is_retried_by_sqs(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN Stripe answers 429 rate_limit to the first request and both its retries
    stripe.add_fault({"kind": "rate_limit", "count": 3})
    pipeline.send(pipeline.charge_body("rl-2"))
    # WHEN the record is delivered, fails, and is delivered again
    first = pipeline.run_batch()
    second = pipeline.run_batch()
    # THEN the first delivery asked for a retry and the second charged, once
    assert len(first.failed_message_ids) == 1
    assert second.deleted == 1
    assert ledger_entry(stripe, "rl-2")["succeeded"] == 1


def test_server_errors_before_execution_are_transient(pipeline: Pipeline, stripe: StripeEmulator):
    # GIVEN three 503s in a row: more than the SDK's two retries
    stripe.add_fault({"kind": "server_error_before", "status": 503, "count": 3})
    pipeline.send(pipeline.charge_body("5xx-1"))
    first = pipeline.run_batch()
    second = pipeline.run_batch()
    assert len(first.failed_message_ids) == 1
    assert second.deleted == 1
    assert ledger_entry(stripe, "5xx-1")["succeeded"] == 1


def test_lost_response_is_absorbed_by_the_same_key(pipeline: Pipeline, stripe: StripeEmulator):
    # GIVEN Stripe charges the card and the connection drops before the response arrives
    stripe.add_fault({"kind": "drop_after_commit", "count": 1})
    pipeline.send(pipeline.charge_body("lost-1"))
    # WHEN the function processes the record (the SDK retries with the same key)
    report = pipeline.run_batch()
    # THEN the retry got the first PaymentIntent back: one charge, recorded
    assert report.deleted == 1
    entry = ledger_entry(stripe, "lost-1")
    assert (entry["created"], entry["succeeded"]) == (1, 1)
    assert stripe.ledger()["requests"]["replayed"] >= 1


def lose_every_response_of_one_delivery(stripe: StripeEmulator) -> None:
    """The SDK's three tries all fail; the last one charged the card before dropping."""
    stripe.add_fault({"kind": "drop_before", "count": 2})
    stripe.add_fault({"kind": "drop_after_commit", "count": 1})


def test_lost_responses_past_sdk_retries_are_not_charged_twice(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN every try of the first delivery loses its response (the card was charged)
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(pipeline.charge_body("lost-2"))
    # WHEN that delivery fails and SQS delivers the message again
    first = pipeline.run_batch()
    second = pipeline.run_batch()
    # THEN the redelivery finds the charge: one PaymentIntent, recorded as charged
    assert len(first.failed_message_ids) == 1
    assert second.deleted == 1
    entry = ledger_entry(stripe, "lost-2")
    assert (entry["created"], entry["succeeded"]) == (1, 1)


def test_redelivery_after_key_pruning_finds_the_charge(pipeline: Pipeline, stripe: StripeEmulator):
    # GIVEN a first delivery whose charge went through but whose result was never recorded
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(pipeline.charge_body("pruned-1"))
    assert len(pipeline.run_batch().failed_message_ids) == 1
    # WHEN Stripe has forgotten the idempotency key (25 hours on its clock) and SQS delivers
    stripe.advance(25 * 3600)
    report = pipeline.run_batch()
    # THEN the handler looked the PaymentIntent up instead of creating a second one
    assert report.deleted == 1
    entry = ledger_entry(stripe, "pruned-1")
    assert (entry["created"], entry["succeeded"]) == (1, 1)
    assert stripe.ledger()["requests"]["list"] >= 1


def test_saved_server_error_is_resolved_by_looking_the_charge_up(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN Stripe charged, then saved a 500 for the key (replayed on every retry)
    stripe.add_fault({"kind": "server_error_after", "count": 1})
    pipeline.send(pipeline.charge_body("saved-500"))
    # WHEN the function processes the record
    report = pipeline.run_batch()
    # THEN it found the PaymentIntent the failed request created, and charged nothing more
    assert report.deleted == 1
    entry = ledger_entry(stripe, "saved-500")
    assert (entry["created"], entry["succeeded"]) == (1, 1)


def test_saved_server_error_ends_charged_once_after_redelivery(
    pipeline: Pipeline, stripe: StripeEmulator
):
    """Stripe saves the 500 and tells the SDK not to retry it (stripe-python
    _should_retry; docs.stripe.com/error-low-level): the record is retried by SQS, and the
    redelivery finds the charge instead of making a second one."""
    # GIVEN Stripe charged, then saved a 500 for the key
    stripe.add_fault({"kind": "server_error_after", "count": 1})
    pipeline.send(pipeline.charge_body("saved-500-redelivered"))
    # WHEN the queue is drained, redeliveries included
    pipeline.drain()
    # THEN one PaymentIntent, recorded as charged
    entry = ledger_entry(stripe, "saved-500-redelivered")
    assert (entry["created"], entry["succeeded"]) == (1, 1)
    status = read_status(pipeline.dynamodb, pipeline.resources.table_name, "saved-500-redelivered")
    assert status.state == "charged"


def test_first_delivery_does_not_list_payment_intents(pipeline: Pipeline, stripe: StripeEmulator):
    # A fresh message costs one Stripe call: no look-up unless a retry could need it.
    pipeline.send(pipeline.charge_body("fresh-1"))
    pipeline.run_batch()
    requests = stripe.ledger()["requests"]
    assert (requests["create"], requests["list"]) == (1, 0)


def test_key_reused_with_another_description_returns_the_first_charge(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN Stripe already saw this request's key with other parameters (an earlier attempt
    # with another description that died before its record was written)
    import stripe as stripe_sdk

    from charges.payments import idempotency_key

    client = stripe_sdk.StripeClient(
        "sk_test_unit", base_addresses={"api": stripe.url}, max_network_retries=0
    )
    client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": pipeline.customer.id,
            "confirm": True,
            "off_session": True,
            "payment_method": str(pipeline.customer.payment_method),
            "description": "first attempt",
            "metadata": {"request_id": "conflict-key"},
        },
        options={"idempotency_key": idempotency_key("conflict-key")},
    )
    # WHEN the request arrives with a different description under the same key
    pipeline.send(pipeline.charge_body("conflict-key", description="second attempt"))
    pipeline.run_batch()
    # THEN Stripe refused the key reuse, and the handler took the first attempt's charge
    assert pipeline.dead_letter_reasons() == []
    assert ledger_entry(stripe, "conflict-key")["created"] == 1
    assert stripe.ledger()["requests"]["idempotency_error"] == 1
    status = read_status(pipeline.dynamodb, pipeline.resources.table_name, "conflict-key")
    assert status.state == "charged"
