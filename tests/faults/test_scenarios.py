"""The named fault scenarios: whatever fails, each request is charged at most once and ends
charged, declined, or in the DLQ with a reason.

The real handler runs in a worker process; SQS and DynamoDB are moto's HTTP server; Stripe
is the project's emulator. Faults are aimed at one request each, so every scenario is
reproducible.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import pytest

from chargeq.dlq import move_all, redrive_selected
from chargeq_local.events import lambda_event
from chargeq_soak.faults import (
    KILL_AFTER_STRIPE,
    KILL_BEFORE_STRIPE,
    THROTTLE_CLAIM,
    THROTTLE_RECORD,
    ChaosPlan,
)
from tests.faults.conftest import SHOP, Faults, FaultsFactory
from tests.samples import charge_body


def body(request_id: str, **overrides: Any) -> str:
    """A charge request of this suite's customer, as the message body."""
    return json.dumps(
        charge_body(
            request_id,
            **(
                {
                    "customer": SHOP["customer"],
                    "amount": 2500,
                    "payment_method": SHOP["payment_method"],
                }
                | overrides
            ),
        )
    )


def test_1_response_lost_after_the_charge_is_committed(faults: FaultsFactory):
    # GIVEN Stripe commits the charge and every try of the first delivery loses the answer
    run = faults()
    run.stripe.add_fault({"kind": "drop_before", "count": 2, "match": {"request_id": "s1"}})
    run.stripe.add_fault({"kind": "drop_after_commit", "count": 1, "match": {"request_id": "s1"}})
    run.send(body("s1"))
    # WHEN SQS delivers it again
    reports = run.settle()
    # THEN the retry found the charge instead of making a second one
    assert len(reports[0].failed_message_ids) == 1
    assert run.charges("s1") == {"created": 1, "succeeded": 1}
    assert run.state("s1")["state"] == "charged"


def test_2_worker_killed_after_stripe_answered(faults: FaultsFactory):
    # GIVEN the worker is SIGKILLed after Stripe charged and before the record is completed
    run = faults(ChaosPlan(first_attempt=((KILL_AFTER_STRIPE, "s2"),)))
    run.send(body("s2"))
    reports = run.settle()
    # THEN the invocation failed, the retry found the charge: one PaymentIntent, recorded
    assert reports[0].error is not None
    assert run.charges("s2") == {"created": 1, "succeeded": 1}
    assert run.state("s2")["state"] == "charged"


def test_3_worker_killed_after_the_claim_before_stripe(faults: FaultsFactory):
    run = faults(ChaosPlan(first_attempt=((KILL_BEFORE_STRIPE, "s3"),)))
    run.send(body("s3"))
    reports = run.settle()
    # THEN the claim left by the dead worker expired and the retry charged, once
    assert reports[0].error is not None
    assert run.charges("s3") == {"created": 1, "succeeded": 1}
    assert run.state("s3")["state"] == "charged"


def test_4_function_times_out_during_the_stripe_call(faults: FaultsFactory):
    # GIVEN Stripe hangs past the function timeout, then finishes the charge anyway
    run = faults()
    timeout = run.stack.settings.function_timeout_seconds
    run.stripe.add_fault(
        {"kind": "hang", "seconds": timeout + 1, "count": 1, "match": {"request_id": "s4"}}
    )
    run.send(body("s4"))
    reports = run.settle()
    # THEN the timed-out invocation failed, and the retry did not charge again
    assert reports[0].failed_message_ids
    assert run.charges("s4") == {"created": 1, "succeeded": 1}
    assert run.state("s4")["state"] == "charged"


def test_5_duplicates_same_message_twice_same_id_twice_same_batch(faults: FaultsFactory):
    run = faults()
    twin = faults()
    # GIVEN the same request in two messages, and three copies of another in one batch
    run.send(body("s5-a"), body("s5-a"), body("s5-b"), body("s5-b"), body("s5-b"))
    # WHEN one batch is handed to two workers at once (SQS at-least-once)
    messages = run.source.receive()
    second = threading.Thread(target=_quietly, args=(twin, messages))
    second.start()
    run.source.deliver(messages, run.worker.invoke, retry_now=True)
    second.join()
    run.settle()
    # THEN each request was charged exactly once
    assert run.charges("s5-a") == {"created": 1, "succeeded": 1}
    assert run.charges("s5-b") == {"created": 1, "succeeded": 1}


def _quietly(twin: Faults, messages: list[dict[str, Any]]) -> None:
    # The twin's answer is ignored, as a second consumer's would be.
    with contextlib.suppress(Exception):
        twin.worker.invoke(lambda_event(messages, twin.stack.resources.queue_arn))


def test_6_stripe_unavailable_for_a_while_then_recovers(faults: FaultsFactory):
    # GIVEN Stripe answers 429, 500, 503, slowly, or not at all, for a while
    run = faults()
    for rule in [
        {"kind": "rate_limit", "count": 3},
        {"kind": "server_error_before", "status": 500, "count": 3},
        {"kind": "server_error_before", "status": 503, "count": 3},
        {"kind": "drop_before", "count": 3},
        {"kind": "latency", "ms": 300, "count": 5},
    ]:
        run.stripe.add_fault(rule)
    run.send(*(body(f"s6-{i}") for i in range(5)))
    # WHEN deliveries continue until Stripe recovers
    run.settle(rounds=20)
    # THEN every request was charged exactly once and none was given up on
    for index in range(5):
        assert run.charges(f"s6-{index}") == {"created": 1, "succeeded": 1}
        assert run.state(f"s6-{index}")["state"] == "charged"


def test_7_dynamodb_throttles_before_and_after_the_charge(faults: FaultsFactory):
    # GIVEN the claim of one request and the completion of another are throttled
    run = faults(ChaosPlan(first_attempt=((THROTTLE_CLAIM, "s7-a"), (THROTTLE_RECORD, "s7-b"))))
    run.send(body("s7-a"), body("s7-b"))
    run.settle()
    # THEN the first never reached Stripe on its throttled attempt, the second's charge
    # was found again on retry: one PaymentIntent each
    assert run.charges("s7-a") == {"created": 1, "succeeded": 1}
    assert run.charges("s7-b") == {"created": 1, "succeeded": 1}
    assert run.state("s7-a")["state"] == run.state("s7-b")["state"] == "charged"


def test_8_retry_after_stripe_pruned_the_key(faults: FaultsFactory):
    # GIVEN the first attempt charged and died before recording it
    run = faults(ChaosPlan(first_attempt=((KILL_AFTER_STRIPE, "s8"),)))
    run.send(body("s8"))
    assert run.run_once().error is not None
    # WHEN the retry arrives after Stripe forgot the idempotency key (25 h on its clock)
    run.stripe.advance(25 * 3600)
    run.settle()
    # THEN the handler found the PaymentIntent by its request_id metadata
    assert run.charges("s8") == {"created": 1, "succeeded": 1}
    assert run.state("s8")["state"] == "charged"


@pytest.mark.parametrize("mode", ["selected", "move_task"])
def test_9_dlq_redrive_of_a_message_whose_first_attempt_charged(faults: FaultsFactory, mode):
    # GIVEN a request that charged and crashed on every delivery until the redrive policy
    # moved it to the DLQ (no attribute of ours on it)
    request_id = f"s9-{mode}"
    doomed = faults(ChaosPlan(doomed=(request_id,)))
    doomed.send(body(request_id))
    doomed.settle(rounds=doomed.stack.settings.max_receive_count + 2)
    assert doomed.dead_letter_reasons(request_id) == ["redrive_policy"]
    assert doomed.charges(request_id)["succeeded"] == 1
    # WHEN an operator redrives it days later, with the crash fixed: as SQS's redrive
    # does, it comes back as a new message
    doomed.stripe.advance(3 * 24 * 3600)
    healthy = faults()
    sqs = healthy.stack.client("sqs")
    resources = healthy.stack.resources
    if mode == "move_task":
        moved = move_all(sqs, resources.dlq_url, resources.queue_url, poll_seconds=0.1).moved
    else:
        moved = redrive_selected(
            sqs, resources.dlq_url, resources.queue_url, reasons={"redrive_policy"}
        ).moved
    healthy.settle()
    # THEN it is recorded as charged, still with one PaymentIntent
    assert moved >= 1
    assert healthy.charges(request_id) == {"created": 1, "succeeded": 1}
    assert healthy.state(request_id)["state"] == "charged"


def test_10_same_request_id_with_another_amount_or_customer(faults: FaultsFactory):
    run = faults()
    run.send(body("s10"))
    run.settle()
    # WHEN the request_id comes back with another amount, and with another customer
    run.send(body("s10", amount=9999), body("s10", customer="cus_other"))
    run.settle()
    # THEN both are dead-lettered as payload conflicts and Stripe saw one charge
    assert run.dead_letter_reasons("s10") == ["payload_conflict", "payload_conflict"]
    assert run.charges("s10") == {"created": 1, "succeeded": 1}
