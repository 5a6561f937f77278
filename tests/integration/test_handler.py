"""The charge function record by record: each outcome, duplicates, conflicts and poison.

The real handler, Powertools, boto3 against moto, and the stripe SDK over HTTP against the
project's Stripe emulator.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from chargeq.status import read_status, read_statuses
from chargeq_local.aws_errors import DYNAMODB_THROTTLING, error_response
from chargeq_local.event_source import EventSource
from charges.claims import record_key
from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import create_customer
from tests.harness import API_KEY, Pipeline, PipelineFactory


def succeeded_charges(stripe: StripeEmulator, request_id: str) -> int:
    return int(stripe.ledger()["by_request_id"].get(request_id, {}).get("succeeded", 0))


def created_intents(stripe: StripeEmulator, request_id: str) -> int:
    return int(stripe.ledger()["by_request_id"].get(request_id, {}).get("created", 0))


def stored(pipeline: Pipeline, request_id: str) -> dict[str, Any]:
    return read_status(pipeline.dynamodb, pipeline.resources.table_name, request_id).as_dict()


def test_success_stores_the_payment_intent(pipeline: Pipeline, stripe: StripeEmulator):
    # GIVEN a valid charge request
    pipeline.send(pipeline.charge_body("order-1", amount=4200))
    # WHEN the function processes it
    report = pipeline.run_batch()
    # THEN the message is done, Stripe has one charge, and the record holds its result
    assert report.deleted == 1
    assert report.failed_message_ids == []
    assert succeeded_charges(stripe, "order-1") == 1
    status = stored(pipeline, "order-1")
    assert status["state"] == "charged"
    assert status["payment_intent_id"].startswith("pi_")
    assert status["stripe_status"] == "succeeded"
    assert (status["amount"], status["currency"]) == (4200, "usd")


def test_record_key_matches_what_powertools_writes(pipeline: Pipeline):
    pipeline.send(pipeline.charge_body("order-key"))
    pipeline.run_batch()
    item = pipeline.dynamodb.get_item(
        TableName=pipeline.resources.table_name, Key={"id": {"S": record_key("order-key")}}
    )
    assert item["Item"]["status"]["S"] == "COMPLETED"


def test_one_scan_reads_every_request_as_its_own_read_does(pipeline: Pipeline):
    # GIVEN a charged request, a declined one, and one that never arrived
    pipeline.send(
        pipeline.charge_body("scan-charged"),
        pipeline.charge_body("scan-declined", payment_method="pm_card_visa_chargeDeclined"),
    )
    pipeline.run_batch()
    request_ids = ["scan-charged", "scan-declined", "scan-never-sent"]
    # WHEN the final check reads them all with one Scan
    scanned = read_statuses(pipeline.dynamodb, pipeline.resources.table_name, request_ids)
    # THEN each status is the one a GetItem of its record gives
    table = pipeline.resources.table_name
    assert scanned == {rid: read_status(pipeline.dynamodb, table, rid) for rid in request_ids}
    assert [scanned[rid].state for rid in request_ids] == ["charged", "declined", "not_found"]


def test_decline_is_final_and_replayed_not_retried(pipeline: Pipeline, stripe: StripeEmulator):
    # GIVEN a card that declines
    body = pipeline.charge_body("order-2", payment_method="pm_card_visa_chargeDeclined")
    pipeline.send(body)
    # WHEN it is processed, and then delivered again
    first = pipeline.run_batch()
    pipeline.send(body)
    second = pipeline.run_batch()
    # THEN both deliveries complete without retry or DLQ, and Stripe saw one attempt
    assert (first.deleted, second.deleted) == (1, 1)
    assert first.failed_message_ids == second.failed_message_ids == []
    assert pipeline.dead_letters() == []
    assert created_intents(stripe, "order-2") == 1
    status = stored(pipeline, "order-2")
    assert status["state"] == "declined"
    assert status["error_code"] == "card_declined"
    assert status["payment_intent_id"].startswith("pi_")


def test_authentication_required_is_a_final_decline(pipeline: Pipeline, stripe: StripeEmulator):
    pipeline.send(pipeline.charge_body("order-3", payment_method="pm_card_authenticationRequired"))
    report = pipeline.run_batch()
    assert report.deleted == 1
    status = stored(pipeline, "order-3")
    assert status["state"] == "declined"
    assert status["error_code"] == "authentication_required"
    assert status["stripe_status"] == "requires_payment_method"
    assert succeeded_charges(stripe, "order-3") == 0


def test_customer_default_payment_method_is_charged_when_none_given(
    pipeline: Pipeline, stripe: StripeEmulator
):
    """A customer saved with PaymentMethods only (its invoice default): Stripe answers 400
    payment_intent_unexpected_state to a PaymentIntent without payment_method (API
    reference, PaymentIntent payment_method), so the handler must name the card."""
    body = pipeline.charge_body("order-4")
    del body["payment_method"]
    pipeline.send(body)
    pipeline.run_batch()
    assert stored(pipeline, "order-4")["state"] == "charged"
    assert succeeded_charges(stripe, "order-4") == 1


def test_customer_default_source_is_charged_when_none_given(
    pipeline: Pipeline, stripe: StripeEmulator
):
    """A legacy customer with a card source: Stripe charges customer.default_source
    (API reference, PaymentIntent payment_method)."""
    legacy = create_customer(stripe.url, API_KEY, payment_method=None, source="tok_visa")
    body = pipeline.charge_body("order-4s", customer=legacy.id)
    del body["payment_method"]
    pipeline.send(body)
    pipeline.run_batch()
    assert stored(pipeline, "order-4s")["state"] == "charged"
    assert succeeded_charges(stripe, "order-4s") == 1


def test_duplicates_in_one_batch_make_one_payment_intent(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN the same request three times in one batch, beside another request
    body = pipeline.charge_body("order-5")
    pipeline.send(body, body, pipeline.charge_body("order-6"), body)
    # WHEN the queue is drained (a copy that met the first in flight is retried)
    pipeline.drain()
    # THEN each request was charged exactly once and nothing is left or dead-lettered
    assert succeeded_charges(stripe, "order-5") == 1
    assert created_intents(stripe, "order-5") == 1
    assert succeeded_charges(stripe, "order-6") == 1
    assert pipeline.queue_depth() == 0
    assert pipeline.dead_letters() == []


def test_duplicate_across_invocations_is_answered_from_the_record(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a request already charged
    body = pipeline.charge_body("order-7")
    pipeline.send(body)
    pipeline.run_batch()
    creates_before = stripe.ledger()["requests"]
    # WHEN the same request arrives again in a later invocation
    pipeline.send(body)
    report = pipeline.run_batch()
    # THEN it completes from the stored result, without calling Stripe at all
    assert report.deleted == 1
    assert stripe.ledger()["requests"] == creates_before
    assert succeeded_charges(stripe, "order-7") == 1


def test_payload_conflict_is_poison_and_never_reaches_stripe(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a charged request
    pipeline.send(pipeline.charge_body("order-8", amount=1000))
    pipeline.run_batch()
    requests_before = stripe.ledger()["requests"]
    # WHEN the same request_id comes with another amount
    pipeline.send(pipeline.charge_body("order-8", amount=9999))
    report = pipeline.run_batch()
    # THEN it is dead-lettered as a payload conflict, with no Stripe call
    assert report.deleted == 1
    assert stripe.ledger()["requests"] == requests_before
    assert pipeline.dead_letter_reasons() == ["payload_conflict"]
    assert stored(pipeline, "order-8")["amount"] == 1000


def test_poison_goes_to_the_dlq_with_its_reason_and_the_batch_carries_on(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN one batch mixing good requests with poison
    no_id = pipeline.charge_body("x")
    del no_id["request_id"]
    pipeline.send(
        pipeline.charge_body("good-1"),
        "this is not json",
        json.dumps(no_id),
        pipeline.charge_body("bad-amount", amount=-1),
        pipeline.charge_body("too-much", amount=5_000_000),
        pipeline.charge_body("good-2"),
    )
    # WHEN it is processed once
    report = pipeline.run_batch()
    # THEN every record is settled: good ones charged, poison dead-lettered with reasons
    assert report.deleted == 6
    assert report.failed_message_ids == []
    assert pipeline.dead_letter_reasons() == [
        "contract_violation",
        "invalid_json",
        "limit_exceeded",
        "missing_request_id",
    ]
    assert succeeded_charges(stripe, "good-1") == 1
    assert succeeded_charges(stripe, "good-2") == 1
    assert "bad-amount" not in stripe.ledger()["by_request_id"]


def test_dead_letter_keeps_the_body_and_says_why(pipeline: Pipeline):
    pipeline.send("not json at all")
    pipeline.run_batch()
    (letter,) = pipeline.dead_letters()
    assert letter["Body"] == "not json at all"
    attributes = letter["MessageAttributes"]
    assert attributes["chargeq-reason"]["StringValue"] == "invalid_json"
    assert attributes["chargeq-detail"]["StringValue"].startswith("body is not JSON")
    assert attributes["chargeq-receive-count"]["StringValue"] == "1"


def test_poison_stays_on_the_queue_when_the_dlq_cannot_take_it(pipeline: Pipeline):
    # GIVEN the DLQ refuses messages (gone here; denied or throttled would do the same)
    pipeline.sqs.delete_queue(QueueUrl=pipeline.resources.dlq_url)
    pipeline.send("not json at all", pipeline.charge_body("good-3"))
    # WHEN the batch is processed
    report = pipeline.run_batch()
    # THEN the poison record is reported failed, so SQS keeps it and delivers it again,
    # and the good record of the same batch is charged
    assert report.deleted == 1
    assert len(report.failed_message_ids) == 1
    assert pipeline.queue_depth() == 1
    (message,) = pipeline.sqs.receive_message(QueueUrl=pipeline.resources.queue_url)["Messages"]
    assert message["Body"] == "not json at all"


def test_stripe_invalid_request_is_poison(pipeline: Pipeline):
    # GIVEN a customer Stripe does not know (a 400 that repeats forever)
    pipeline.send(pipeline.charge_body("order-9", customer="cus_missing_1", payment_method=None))
    pipeline.run_batch()
    assert pipeline.dead_letter_reasons() == ["stripe_invalid_request"]
    # AND its claim is released, not deleted: evidence that an attempt reached Stripe
    assert stored(pipeline, "order-9")["state"] == "released"


def test_wrong_stripe_key_is_transient_until_deliveries_run_out(make_pipeline: PipelineFactory):
    # GIVEN the secret holds a key Stripe refuses
    pipeline = make_pipeline(stripe_api_key="sk_test_wrong")
    pipeline.send(pipeline.charge_body("order-10"))
    # WHEN it is delivered as often as the queue allows
    reports = [pipeline.run_batch() for _ in range(pipeline.settings.max_receive_count)]
    # THEN each delivery but the last fails for a retry, and the last dead-letters it
    assert [len(r.failed_message_ids) for r in reports] == [1, 1, 0]
    assert pipeline.dead_letter_reasons() == ["retries_exhausted"]
    assert pipeline.queue_depth() == 0


def test_dynamodb_throttling_is_transient_and_never_charges(
    make_pipeline: PipelineFactory, stripe: StripeEmulator
):
    # GIVEN the idempotency table throttles every write: DynamoDB's throttling error,
    # answered through botocore's event hook on the function's session
    session = boto3.Session(region_name="us-east-1")
    session.events.register(
        "before-call.dynamodb.PutItem",
        lambda **_: error_response(DYNAMODB_THROTTLING, "slow down"),
    )
    pipeline = make_pipeline(session=session)
    pipeline.send(pipeline.charge_body("order-11"))
    # WHEN the record is processed
    report = pipeline.run_batch()
    # THEN it is failed for a retry and Stripe was never called
    assert len(report.failed_message_ids) == 1
    assert "order-11" not in stripe.ledger()["by_request_id"]


def test_first_batch_reads_the_stripe_key_once(make_pipeline: PipelineFactory):
    # GIVEN a cold container and a full batch of fresh requests charged concurrently, and
    # Secrets Manager taking 50 ms per GetSecretValue, as a network round trip would, so
    # concurrent records overlap on a cold cache
    reads: list[float] = []

    def slow_read(**_: Any) -> None:
        reads.append(time.monotonic())
        time.sleep(0.05)

    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call.secrets-manager.GetSecretValue", slow_read)
    pipeline = make_pipeline(session=session)
    pipeline.send(*(pipeline.charge_body(f"key-{i}") for i in range(10)))
    # WHEN the batch is processed
    report = pipeline.run_batch()
    # THEN Secrets Manager was asked once, not once per record
    assert report.deleted == 10
    assert len(reads) == 1


def test_warm_batches_reuse_the_containers_connections_to_stripe(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a container whose records are charged twelve at a time (a full batch), fed by
    # an event source that gathers full batches as Lambda's does
    in_flight = pipeline.deps.config.records_in_flight
    assert in_flight == pipeline.settings.batch_size == 12
    source = EventSource.configured(
        pipeline.sqs, pipeline.resources.queue_url, pipeline.resources.queue_arn, pipeline.settings
    )
    # AND a customer with a saved card for each record, made through the API five a
    # second on Stripe's clock (three requests each: under its 25 requests/s)
    customers = []
    for i in range(in_flight):
        if i % 5 == 0:
            stripe.advance(1)
        customers.append(create_customer(stripe.url, API_KEY))
    connections_before = stripe.ledger()["connections"]
    # WHEN three full batches are charged, one invocation after another
    for batch in range(3):
        # One customer per record, a second apart on Stripe's clock: under its lock
        # timeouts and its 25 requests/s (this test is about connections, not limits).
        stripe.advance(1)
        pipeline.send(
            *(
                pipeline.charge_body(
                    f"warm-{batch}-{i}",
                    customer=customers[i].id,
                    payment_method=customers[i].payment_method,
                )
                for i in range(in_flight)
            )
        )
        assert source.poll_once(pipeline.invoke, retry_now=True).deleted == in_flight
    # THEN 36 charges opened at most one connection per record thread, not one per
    # record per batch (each would be a TLS handshake with the real Stripe)
    assert stripe.ledger()["requests"]["create"] >= 3 * in_flight
    assert stripe.ledger()["connections"] - connections_before <= in_flight
