"""The charges ledger on moto: conditional transitions, the idempotency table's stream as
its outbox, dead-lettering, and the outcome events on an EventBridge bus.

The real charge handler, Powertools' stream batch processing, boto3 against moto's
DynamoDB, DynamoDB Streams, EventBridge and SQS, and the stripe SDK against the emulator.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from chargeq_local.aws_errors import DYNAMODB_THROTTLING, error_response
from chargeq_local.streams import StreamReader, streams_client
from ledger.facts import Fact, Source
from ledger.states import State
from ledger.store import LedgerTable
from outbox.handler import handle_stream as write_ledger
from outcome_events.handler import EventBus
from outcome_events.handler import handle_stream as publish_outcomes
from tests.harness import Pipeline

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def ledger(pipeline: Pipeline) -> LedgerTable:
    return LedgerTable(pipeline.dynamodb, pipeline.resources.ledger_table_name)


def fact(state: State, at: datetime = T0, **fields: Any) -> Fact:
    return Fact(request_id="order-1", state=state, source=Source.CHARGE_RECORD, at=at, **fields)


def test_a_state_moves_forward_only_and_each_transition_is_kept(ledger: LedgerTable):
    # GIVEN a dead-lettered request (a redrive may still charge it)
    assert ledger.apply(fact(State.DEAD_LETTERED, reason="retries_exhausted", customer="cus_a"))
    # WHEN it is pending, then charged, then a late pending and a repeat arrive
    assert ledger.apply(fact(State.PENDING, T0 + timedelta(seconds=1), payment_intent_id="pi_1"))
    assert ledger.apply(fact(State.CHARGED, T0 + timedelta(seconds=2), payment_intent_id="pi_1"))
    assert not ledger.apply(fact(State.PENDING, T0 + timedelta(seconds=3)))
    assert not ledger.apply(fact(State.CHARGED, T0 + timedelta(seconds=4)))
    # THEN the item is charged, each transition kept with its time, the reason gone
    item = ledger.get("order-1")
    assert item is not None
    assert (item["state"], item["customer"], item["payment_intent_id"]) == (
        "charged",
        "cus_a",
        "pi_1",
    )
    assert "reason" not in item
    assert [(t["state"], t["at"]) for t in item["transitions"]] == [
        ("dead_lettered", "2026-01-02T03:04:05.000Z"),
        ("pending", "2026-01-02T03:04:06.000Z"),
        ("charged", "2026-01-02T03:04:07.000Z"),
    ]
    assert item["transitions"][0]["reason"] == "retries_exhausted"
    assert item["created_at"] == "2026-01-02T03:04:05.000Z"


def test_a_final_state_is_never_replaced(ledger: LedgerTable):
    # GIVEN a declined request
    assert ledger.apply(fact(State.DECLINED, payment_intent_id="pi_1"))
    # WHEN a charged, a failed and a dead-lettered fact arrive (a payload conflict, say)
    assert not ledger.apply(fact(State.CHARGED, payment_intent_id="pi_2"))
    assert not ledger.apply(fact(State.FAILED, payment_intent_id="pi_1"))
    assert not ledger.apply(fact(State.DEAD_LETTERED, reason="payload_conflict"))
    # THEN it stays declined
    item = ledger.get("order-1")
    assert item is not None and item["state"] == "declined" and len(item["transitions"]) == 1


def test_failed_applies_only_to_a_request_pending_on_that_payment_intent(ledger: LedgerTable):
    # GIVEN a request unknown to the ledger (a soft decline's PaymentIntent failed)
    assert not ledger.apply(fact(State.FAILED, payment_intent_id="pi_soft"))
    assert ledger.get("order-1") is None
    # AND then pending on pi_2
    assert ledger.apply(fact(State.PENDING, payment_intent_id="pi_2"))
    # WHEN another PaymentIntent fails, then pi_2 fails
    assert not ledger.apply(fact(State.FAILED, payment_intent_id="pi_soft"))
    assert ledger.apply(fact(State.FAILED, payment_intent_id="pi_2", error_code="no_account"))
    # THEN the request failed on pi_2
    item = ledger.get("order-1")
    assert item is not None and (item["state"], item["error_code"]) == ("failed", "no_account")


def test_a_customers_charges_are_listed_newest_first(ledger: LedgerTable):
    for n in range(3):
        ledger.apply(
            Fact(
                request_id=f"order-{n}",
                state=State.CHARGED,
                source=Source.CHARGE_RECORD,
                at=T0 + timedelta(minutes=n),
                customer="cus_a",
            )
        )
    assert [item["request_id"] for item in ledger.by_customer("cus_a")] == [
        "order-2",
        "order-1",
        "order-0",
    ]


def idempotency_stream(pipeline: Pipeline) -> StreamReader:
    return StreamReader(streams_client(boto3), pipeline.resources.table_stream_arn)


def ledger_stream(pipeline: Pipeline) -> StreamReader:
    return StreamReader(streams_client(boto3), pipeline.resources.ledger_stream_arn)


def drain(reader: StreamReader, handler: Any) -> int:
    taken = 0
    while n := reader.deliver(handler):
        taken += n
    return taken


def test_stored_results_reach_the_ledger_through_the_stream(
    pipeline: Pipeline, ledger: LedgerTable
):
    # GIVEN a charge, a decline and a processing bank debit, recorded by the function
    pipeline.send(
        pipeline.charge_body("ok-1", amount=4200),
        pipeline.charge_body("no-1", payment_method="pm_card_visa_chargeDeclined"),
        pipeline.charge_body("ach-1", payment_method="pm_usBankAccount_processing"),
    )
    pipeline.drain()
    # WHEN the outbox reads the idempotency table's stream
    drain(idempotency_stream(pipeline), lambda event: write_ledger(event, None, ledger))
    # THEN each request is in the ledger with its state, customer and PaymentIntent
    items = {rid: ledger.get(rid) for rid in ("ok-1", "no-1", "ach-1")}
    assert {rid: item["state"] for rid, item in items.items() if item} == {
        "ok-1": "charged",
        "no-1": "declined",
        "ach-1": "pending",
    }
    assert items["ok-1"] is not None
    assert (items["ok-1"]["customer"], items["ok-1"]["amount"]) == (pipeline.customer.id, 4200)
    assert items["ok-1"]["payment_intent_id"].startswith("pi_")
    assert items["no-1"] is not None and items["no-1"]["error_code"] == "card_declined"
    # AND a replay of the whole stream (a redriven shard, a retried batch) changes nothing
    before = {rid: ledger.get(rid) for rid in items}
    drain(idempotency_stream(pipeline), lambda event: write_ledger(event, None, ledger))
    assert {rid: ledger.get(rid) for rid in items} == before


def test_a_dead_lettered_request_is_in_the_ledger_with_its_reason(
    pipeline: Pipeline, ledger: LedgerTable
):
    # GIVEN a request over the amount limit (poison)
    pipeline.send(pipeline.charge_body("big-1", amount=2_000_000))
    # WHEN the function dead-letters it
    pipeline.drain()
    # THEN the DLQ has it, and the ledger says dead_lettered with the same reason
    assert pipeline.dead_letter_reasons() == ["limit_exceeded"]
    item = ledger.get("big-1")
    assert item is not None
    assert (item["state"], item["reason"], item["customer"]) == (
        "dead_lettered",
        "limit_exceeded",
        pipeline.customer.id,
    )


def test_poison_stays_queued_when_the_ledger_cannot_record_it(make_pipeline: Any):
    # GIVEN a ledger whose writes are throttled (botocore hook, as DynamoDB answers)
    session = boto3.Session(region_name="us-east-1")

    def throttle(params: dict[str, Any], **_: Any) -> Any:
        # before-call sees the serialized request: the table is named in its JSON body.
        if b'"TableName": "chargeq-test-ledger"' in params["body"]:
            return error_response(DYNAMODB_THROTTLING, "slow down")
        return None

    session.events.register("before-call.dynamodb.UpdateItem", throttle)
    pipeline = make_pipeline(session=session)
    # WHEN a poison message is handled
    pipeline.send(pipeline.charge_body("big-2", amount=2_000_000))
    report = pipeline.run_batch()
    # THEN nothing went to the DLQ and the message comes back (nothing is lost)
    assert report.failed_message_ids != []
    assert pipeline.dead_letters() == []


def test_a_stream_record_of_an_unexpected_shape_is_skipped_not_retried(ledger: LedgerTable):
    # GIVEN a batch with a completed record whose data is not a result, then a good one
    good = {
        "request_id": "g-1",
        "outcome": "charged",
        "customer": "cus_a",
        "payment_intent_id": "pi_1",
        "status": "succeeded",
        "amount": 1,
        "currency": "usd",
    }

    def record(sequence: str, data: str) -> dict[str, Any]:
        return {
            "eventID": sequence,
            "eventName": "MODIFY",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "SequenceNumber": sequence,
                "NewImage": {"status": {"S": "COMPLETED"}, "data": {"S": data}},
            },
        }

    event = {"Records": [record("1", '{"nonsense": true}'), record("2", json.dumps(good))]}
    # WHEN the outbox handles it
    response = write_ledger(event, None, ledger)
    # THEN no record is reported failed, and the good one is written
    assert response["batchItemFailures"] == []
    item = ledger.get("g-1")
    assert item is not None and item["state"] == "charged"


@pytest.fixture
def outcome_queue(pipeline: Pipeline) -> tuple[EventBus, str]:
    """The stack's bus in moto as the local runtime provisions it
    (``chargeq_local.outcome_bus``): a rule sending every ``source: chargeq`` event to the
    queue standing for a producer's subscription (and to the outcome log group)."""
    bus = EventBus(boto3.client("events"), pipeline.resources.event_bus_name)
    return bus, pipeline.resources.subscription_queue_url


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_each_state_change_is_published_once_per_delivery_with_a_stable_id(
    pipeline: Pipeline, ledger: LedgerTable, outcome_queue: tuple[EventBus, str]
):
    bus, queue_url = outcome_queue
    # GIVEN a request that went pending, then charged, and a late pending that changed nothing
    ledger.apply(fact(State.PENDING, payment_intent_id="pi_1", customer="cus_a", amount=5))
    ledger.apply(fact(State.CHARGED, payment_intent_id="pi_1"))
    ledger.apply(fact(State.PENDING))
    # WHEN the publisher reads the ledger's stream
    drain(ledger_stream(pipeline), lambda event: publish_outcomes(event, None, bus))
    # THEN the bus delivered one event per state change, in order, each with its ID
    events = received(pipeline.sqs, queue_url)
    assert [(e["detail-type"], e["detail"]["event_id"]) for e in events] == [
        ("charge.pending", "order-1/pending"),
        ("charge.charged", "order-1/charged"),
    ]
    assert events[1]["detail"]["previous_state"] == "pending"
    assert events[1]["detail"]["amount"] == 5
    # AND a replay of the stream publishes the same events again, with the same IDs
    drain(ledger_stream(pipeline), lambda event: publish_outcomes(event, None, bus))
    again = received(pipeline.sqs, queue_url)
    assert [e["detail"]["event_id"] for e in again] == ["order-1/pending", "order-1/charged"]


def test_a_refused_put_events_is_retried_from_that_record(
    pipeline: Pipeline, ledger: LedgerTable, outcome_queue: tuple[EventBus, str]
):
    bus, queue_url = outcome_queue
    ledger.apply(fact(State.CHARGED, payment_intent_id="pi_1"))
    reader = ledger_stream(pipeline)
    # GIVEN EventBridge refuses the first entry (PutEvents answers 200, FailedEntryCount 1)
    real_put = bus._events.put_events
    calls = {"n": 0}

    def flaky_put(**kwargs: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }
        return dict(real_put(**kwargs))

    bus._events = type("Events", (), {"put_events": staticmethod(flaky_put)})()
    # WHEN the publisher handles the batch: its only record failed, so the invocation fails
    # (Powertools raises when a whole batch fails) and the event source keeps the batch
    with pytest.raises(BatchProcessingError):
        reader.deliver(lambda event: publish_outcomes(event, None, bus))
    # THEN the next delivery publishes it
    assert reader.deliver(lambda event: publish_outcomes(event, None, bus)) == 1
    assert [e["detail"]["event_id"] for e in received(pipeline.sqs, queue_url)] == [
        "order-1/charged"
    ]
