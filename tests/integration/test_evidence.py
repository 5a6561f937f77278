"""The look-up is decided by durable evidence in the idempotency table, never by delivery
metadata SQS resets.

A message redriven from the DLQ by ``StartMessageMoveTask`` is a new message: new message
ID, new ``SentTimestamp``, receive count from zero, and only the attributes it had
(docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
sqs-configure-dead-letter-queue-redrive.html). Stripe prunes idempotency keys after 24
hours (docs.stripe.com/api/idempotent_requests). So only the table can tell that an
earlier attempt may have reached Stripe: a claim that takes over an earlier record.
"""

from __future__ import annotations

import json
from typing import Any

from chargeq.status import read_status
from charges.claims import RecordAttribute, record_key
from stripe_emulator import StripeEmulator
from tests.harness import Pipeline

DAY = 24 * 3600


def ledger_entry(stripe: StripeEmulator, request_id: str) -> dict[str, int]:
    entry = stripe.ledger()["by_request_id"].get(request_id, {})
    return {name: entry.get(name, 0) for name in ("created", "succeeded")}


def lose_every_response_of_one_delivery(stripe: StripeEmulator) -> None:
    """The SDK's three tries all fail; the last one charged the card before dropping."""
    stripe.add_fault({"kind": "drop_before", "count": 2})
    stripe.add_fault({"kind": "drop_after_commit", "count": 1})


def claim_item(pipeline: Pipeline, request_id: str) -> dict[str, Any]:
    return pipeline.dynamodb.get_item(
        TableName=pipeline.resources.table_name,
        Key={RecordAttribute.KEY: {"S": record_key(request_id)}},
        ConsistentRead=True,
    ).get("Item", {})


def move_to_the_dlq_and_back(pipeline: Pipeline, body: dict[str, Any]) -> None:
    """What the redrive policy then a move task leave: the old message gone, a new one with
    the same body, receive count 1, a fresh SentTimestamp and none of our attributes."""
    queue = pipeline.resources.queue_url
    for message in pipeline.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        pipeline.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    pipeline.send(body)


def test_a_failed_attempt_releases_its_claim_instead_of_deleting_it(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a delivery whose charge reached Stripe but whose every answer was lost
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(pipeline.charge_body("ev-1"))
    # WHEN it fails transiently
    assert len(pipeline.run_batch().failed_message_ids) == 1
    # THEN the claim is still there, in progress with its in-progress time expired
    item = claim_item(pipeline, "ev-1")
    assert item[RecordAttribute.STATUS]["S"] == "INPROGRESS"
    assert item[RecordAttribute.IN_PROGRESS_EXPIRY]["N"] == "0"
    state = read_status(pipeline.dynamodb, pipeline.resources.table_name, "ev-1").state
    assert state == "released"


def test_a_fresh_claim_costs_no_look_up_and_a_takeover_looks_up_once(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a fresh request: charged without listing PaymentIntents
    pipeline.send(pipeline.charge_body("ev-2"))
    pipeline.run_batch()
    assert stripe.ledger()["requests"]["list"] == 0
    # AND one whose first attempt failed after reaching Stripe
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(pipeline.charge_body("ev-3"))
    pipeline.run_batch()
    # WHEN it is delivered again
    report = pipeline.run_batch()
    # THEN that delivery took the claim over and found the charge: one list, no new charge
    assert report.deleted == 1
    assert stripe.ledger()["requests"]["list"] == 1
    assert ledger_entry(stripe, "ev-3")["created"] == 1


def test_move_task_redrive_after_the_key_lifetime_is_not_charged_twice(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a request Stripe charged whose answer never came back (issue 12's example)
    body = pipeline.charge_body("mv-1")
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(body)
    assert len(pipeline.run_batch().failed_message_ids) == 1
    assert ledger_entry(stripe, "mv-1") == {"created": 1, "succeeded": 1}
    # WHEN, more than 24 hours later (Stripe pruned the key), it comes back as a new
    # message, as StartMessageMoveTask redrives it
    stripe.advance(25 * 3600)
    move_to_the_dlq_and_back(pipeline, body)
    report = pipeline.run_batch()
    # THEN there is one PaymentIntent and the redriven delivery ends charged with it
    assert report.deleted == 1
    assert ledger_entry(stripe, "mv-1") == {"created": 1, "succeeded": 1}
    status = read_status(pipeline.dynamodb, pipeline.resources.table_name, "mv-1")
    assert status.state == "charged"
    (intent,) = [i for i in stripe.payment_intents() if i["metadata"]["request_id"] == "mv-1"]
    assert status.fields["payment_intent_id"] == intent["id"]


def test_a_taken_over_request_id_reused_for_another_amount_is_a_payload_conflict(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a request charged at Stripe whose record was never completed
    lose_every_response_of_one_delivery(stripe)
    pipeline.send(pipeline.charge_body("pc-1", amount=1500))
    pipeline.run_batch()
    move_to_the_dlq_and_back(pipeline, pipeline.charge_body("pc-1", amount=1500))
    pipeline.sqs.purge_queue(QueueUrl=pipeline.resources.queue_url)
    # WHEN the same request_id arrives with another amount (Powertools does not validate
    # the payload on a takeover)
    pipeline.send(pipeline.charge_body("pc-1", amount=2000))
    pipeline.run_batch()
    # THEN the look-up sees the PaymentIntent made for 1500 and calls it a conflict
    assert pipeline.dead_letter_reasons() == ["payload_conflict"]
    assert ledger_entry(stripe, "pc-1")["created"] == 1
    state = read_status(pipeline.dynamodb, pipeline.resources.table_name, "pc-1")
    assert state.state != "charged"


def test_soft_declines_are_tried_again_under_attempt_keys_then_final(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a card whose every charge fails with processing_error, a soft decline on
    # Stripe's decline-code table (docs.stripe.com/declines/codes; the test card is on
    # docs.stripe.com/testing), and soft_decline_attempts = 2
    assert pipeline.settings.soft_decline_attempts == 2
    pipeline.send(
        pipeline.charge_body("soft-1", payment_method="pm_card_chargeDeclinedProcessingError")
    )
    # WHEN SQS delivers it until it settles
    first = pipeline.run_batch()
    second = pipeline.run_batch()
    # THEN the first attempt asked for a retry, the second was final
    assert len(first.failed_message_ids) == 1
    assert second.deleted == 1
    attempts = sorted(
        (i["metadata"]["attempt"], i["status"])
        for i in stripe.payment_intents()
        if i["metadata"]["request_id"] == "soft-1"
    )
    assert attempts == [("0", "requires_payment_method"), ("1", "requires_payment_method")]
    status = read_status(pipeline.dynamodb, pipeline.resources.table_name, "soft-1")
    assert status.state == "declined"
    assert pipeline.dead_letter_reasons() == []
    assert json.dumps(status.fields).count("processing_error") >= 1


def test_a_processing_bank_debit_is_stored_pending_never_charged(
    pipeline: Pipeline, stripe: StripeEmulator
):
    # GIVEN a US bank account debit: an off-session PaymentIntent stays processing until
    # the bank settles (docs.stripe.com/payments/ach-direct-debit; docs.stripe.com/testing,
    # "pm_usBankAccount_processing": stays in processing)
    pipeline.send(pipeline.charge_body("ach-1", payment_method="pm_usBankAccount_processing"))
    # WHEN the function charges it
    report = pipeline.run_batch()
    # THEN it is stored as pending, not charged, and the message is done
    assert report.deleted == 1
    status = read_status(pipeline.dynamodb, pipeline.resources.table_name, "ach-1")
    assert status.state == "pending"
    assert status.fields["stripe_status"] == "processing"
