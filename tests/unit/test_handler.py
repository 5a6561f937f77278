"""The handler's record and batch logic on in-memory fakes: each outcome, replays, conflicts,
retries, dead letters and concurrent records, in milliseconds.

The real handler, Powertools' idempotency and batch processing; behind them an in-memory
idempotency store with DynamoDB's conditions, a scripted payment gateway and a DLQ that
keeps what it is sent (``tests/unit/fakes.py``). The same behaviours against moto and the
Stripe emulator are in ``tests/integration``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chargeq.settings import PipelineSettings
from charges.contract import ChargeRequest
from charges.metric_names import MetricName
from charges.outcomes import Reason, TransientFailure
from tests.conftest import LogLines
from tests.samples import charge_body, sqs_event, with_receive_count
from tests.unit.conftest import Invoke
from tests.unit.fakes import (
    FakeDeadLetters,
    FakeGateway,
    InMemoryPersistenceLayer,
    declined,
    raising,
)

Counted = Callable[[str], int]


def test_a_charged_request_is_stored_and_counted(
    invoke: Invoke, gateway: FakeGateway, store: InMemoryPersistenceLayer, counted: Counted
):
    # GIVEN a valid charge request
    event = sqs_event(charge_body("order-1"))
    # WHEN the function processes it
    failed = invoke(event)
    # THEN it is done, charged once, its record completed and counted as a success
    assert failed == []
    assert gateway.charges_of("order-1") == 1
    assert store.statuses() == ["COMPLETED"]
    assert counted(MetricName.SUCCEEDED) == 1


def test_a_decline_is_final_stored_and_never_retried(
    invoke: Invoke,
    gateway: FakeGateway,
    store: InMemoryPersistenceLayer,
    dead_letters: FakeDeadLetters,
    counted: Counted,
):
    # GIVEN a card that declines
    gateway.will("order-2", declined)
    event = sqs_event(charge_body("order-2"))
    # WHEN it is processed, and then delivered again
    first = invoke(event)
    second = invoke(with_receive_count(event, 2))
    # THEN neither delivery fails or dead-letters, the gateway saw one attempt, and the
    # decline is stored and counted once (the second is a replay)
    assert first == second == []
    assert dead_letters.sent == []
    assert gateway.charges_of("order-2") == 1
    assert store.statuses() == ["COMPLETED"]
    assert counted(MetricName.DECLINED) == 1
    assert counted(MetricName.DUPLICATE_SUPPRESSED) == 1


def test_a_replay_is_answered_from_the_record_and_counted_as_a_duplicate(
    invoke: Invoke, gateway: FakeGateway, counted: Counted, function_logs: LogLines
):
    # GIVEN a request already charged
    body = charge_body("order-7")
    invoke(sqs_event(body))
    # WHEN the same request arrives again in a later invocation
    failed = invoke(sqs_event(body))
    # THEN it completes from the stored result (Powertools' response_hook marks it), with
    # no second charge, and is counted as a suppressed duplicate, not a second success
    assert failed == []
    assert gateway.charges_of("order-7") == 1
    assert counted(MetricName.SUCCEEDED) == 1
    assert counted(MetricName.DUPLICATE_SUPPRESSED) == 1
    assert [line["message"] for line in function_logs() if line["message"].startswith("charge ")][
        -1
    ] == "charge replayed"


def test_a_payload_conflict_is_dead_lettered_without_a_charge(
    invoke: Invoke,
    gateway: FakeGateway,
    dead_letters: FakeDeadLetters,
    counted: Counted,
):
    # GIVEN a charged request
    invoke(sqs_event(charge_body("order-8", amount=1000)))
    # WHEN the same request_id comes with another amount
    failed = invoke(sqs_event(charge_body("order-8", amount=9999)))
    # THEN it is dead-lettered as a payload conflict and never reaches the gateway
    assert failed == []
    assert dead_letters.reasons() == ["payload_conflict"]
    assert gateway.charges_of("order-8") == 1
    assert counted(MetricName.PAYLOAD_CONFLICT) == 1


def test_poison_is_dead_lettered_at_once_and_the_batch_carries_on(
    invoke: Invoke, gateway: FakeGateway, dead_letters: FakeDeadLetters
):
    # GIVEN one batch mixing a good request with poison
    event = sqs_event(
        charge_body("good-1"),
        "this is not json",
        charge_body(...),
        charge_body("bad-amount", amount=-1),
        charge_body("too-much", amount=5_000_000),
    )
    # WHEN it is processed once
    failed = invoke(event)
    # THEN every record is settled: the good one charged, poison dead-lettered with reasons
    assert failed == []
    assert dead_letters.reasons() == [
        "contract_violation",
        "invalid_json",
        "limit_exceeded",
        "missing_request_id",
    ]
    assert [request_id for request_id, _ in gateway.calls] == ["good-1"]


def test_a_transient_failure_asks_sqs_for_another_delivery(
    invoke: Invoke, gateway: FakeGateway, store: InMemoryPersistenceLayer, counted: Counted
):
    # GIVEN Stripe rate-limits the first attempt
    gateway.will("order-11", raising(TransientFailure(Reason.STRIPE_RATE_LIMITED, "429")))
    event = sqs_event(charge_body("order-11"))
    # WHEN the first delivery is processed
    failed = invoke(event)
    # THEN the record is reported failed, its claim released (kept as evidence, its
    # in-progress time expired), and the failure counted
    assert failed == [event["Records"][0]["messageId"]]
    assert [record.in_progress_expiry_timestamp for record in store.records.values()] == [0]
    assert counted(MetricName.TRANSIENT_FAILURE) == 1
    assert counted(MetricName.STRIPE_RATE_LIMITED) == 1
    # AND the next delivery takes the claim over, looks Stripe up first, and charges it
    assert invoke(with_receive_count(event, 2)) == []
    assert [look_up for _, look_up in gateway.calls] == [False, True]
    assert gateway.charges_of("order-11") == 2
    assert store.statuses() == ["COMPLETED"]


def test_the_last_delivery_of_a_transient_failure_is_dead_lettered_as_retries_exhausted(
    invoke: Invoke, gateway: FakeGateway, dead_letters: FakeDeadLetters, settings
):
    # GIVEN Stripe cannot be reached, on the last delivery SQS allows
    gateway.will("order-10", raising(TransientFailure(Reason.STRIPE_UNREACHABLE, "timeout")))
    event = with_receive_count(sqs_event(charge_body("order-10")), settings.max_receive_count)
    # WHEN it is processed
    failed = invoke(event)
    # THEN the function dead-letters it with the reason, instead of leaving it to the
    # redrive policy, which would move it without one
    assert failed == []
    ((record, failure),) = dead_letters.sent
    assert failure.reason is Reason.RETRIES_EXHAUSTED
    assert failure.detail == "stripe_unreachable: timeout"
    assert record.message_id == event["Records"][0]["messageId"]


def test_poison_the_dlq_cannot_take_stays_on_the_queue(
    invoke: Invoke, dead_letters: FakeDeadLetters
):
    # GIVEN the DLQ cannot be reached
    dead_letters.unavailable = True
    event = sqs_event("not json at all", charge_body("good-3"))
    # WHEN a batch with poison and a good request is processed
    failed = invoke(event)
    # THEN the poison record is reported failed, so SQS keeps it, and the good one is done
    assert failed == [event["Records"][0]["messageId"]]


def test_an_unknown_error_is_retried_not_dropped(
    invoke: Invoke, gateway: FakeGateway, dead_letters: FakeDeadLetters, counted: Counted
):
    # GIVEN the gateway fails in a way nobody foresaw
    gateway.will("order-12", raising(KeyError("surprise")))
    event = sqs_event(charge_body("order-12"))
    # WHEN it is processed
    failed = invoke(event)
    # THEN it is retried (never dropped, never dead-lettered on a first delivery)
    assert failed == [event["Records"][0]["messageId"]]
    assert dead_letters.sent == []
    assert counted(MetricName.TRANSIENT_FAILURE) == 1
    # AND a later delivery charges it
    assert invoke(with_receive_count(event, 2)) == []
    assert gateway.charges_of("order-12") == 2


def test_a_request_in_flight_elsewhere_is_retried_without_a_charge(
    invoke: Invoke, gateway: FakeGateway
):
    # GIVEN a delivery of the request is charging it right now (a live INPROGRESS claim)
    in_flight = threading.Event()
    release = threading.Event()

    def hold() -> None:
        in_flight.set()
        release.wait(timeout=5)

    gateway.before_answer = hold
    body = charge_body("order-13")
    first = threading.Thread(target=invoke, args=(sqs_event(body),))
    first.start()
    assert in_flight.wait(timeout=5)
    # WHEN another delivery of it arrives
    event = sqs_event(body)
    failed = invoke(event)
    release.set()
    first.join(timeout=5)
    # THEN that delivery is retried later, and only the first reached the gateway
    assert failed == [event["Records"][0]["messageId"]]
    assert gateway.charges_of("order-13") == 1


def test_a_throttled_idempotency_store_is_transient_and_never_charges(
    invoke: Invoke, gateway: FakeGateway, store: InMemoryPersistenceLayer
):
    # GIVEN the idempotency table refuses the claim with DynamoDB's throttling error
    store.throttled = True
    event = sqs_event(charge_body("order-14"))
    # WHEN the record is processed
    failed = invoke(event)
    # THEN it is failed for a retry and the gateway was never called
    assert failed == [event["Records"][0]["messageId"]]
    assert gateway.calls == []


def test_records_charged_concurrently_log_and_count_each_their_own(
    invoke: Invoke, gateway: FakeGateway, config, counted: Counted, function_logs: LogLines
):
    # GIVEN a full batch (as many records as are charged at once: 12 by default), half
    # charges and half declines, each its own customer's, all held in the gateway at once
    size = config.records_in_flight
    assert size == PipelineSettings().records_in_flight
    all_in = threading.Barrier(size, timeout=5)
    gateway.before_answer = all_in.wait
    bodies = [charge_body(f"mixed-{i}", customer=f"cus_{i}") for i in range(size)]
    for body in bodies[1::2]:
        gateway.will(body["request_id"], declined)
    event = sqs_event(*bodies)
    message_ids = {
        body["request_id"]: record["messageId"]
        for body, record in zip(bodies, event["Records"], strict=True)
    }
    # WHEN the batch is processed
    started = time.monotonic()
    failed = invoke(event)
    # THEN the records overlapped (the barrier let them through together) ...
    assert failed == []
    assert time.monotonic() - started < 5
    # ... each outcome line names its own request and message (no keys crossed threads)
    outcomes = [
        line for line in function_logs() if line["message"] in ("charge charged", "charge declined")
    ]
    assert sorted(line["request_id"] for line in outcomes) == sorted(message_ids)
    for line in outcomes:
        is_declined = int(line["request_id"].removeprefix("mixed-")) % 2 == 1
        assert line["message"] == ("charge declined" if is_declined else "charge charged")
        assert line["message_id"] == message_ids[line["request_id"]]
        assert line["correlation_id"] == line["request_id"]
    # AND the invocation's metrics count half of each
    assert counted(MetricName.SUCCEEDED) == size // 2
    assert counted(MetricName.DECLINED) == size // 2


def test_one_customers_records_are_charged_one_after_another(
    invoke: Invoke, gateway: FakeGateway, counted: Counted
):
    """docs.stripe.com/rate-limits, "Object lock timeouts": concurrent writes to one object
    (the customer) get 429 lock_timeout; Stripe advises making them serially."""
    # GIVEN a batch of three customers' records, four of them for one customer
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    order: list[str] = []
    lock = threading.Lock()

    def hold(request: ChargeRequest) -> None:
        customer = request.customer
        with lock:
            order.append(request.request_id)
            in_flight[customer] = in_flight.get(customer, 0) + 1
            most[customer] = max(most.get(customer, 0), in_flight[customer])
        time.sleep(0.05)
        with lock:
            in_flight[customer] -= 1

    gateway.holding = hold
    customers = ["cus_a", "cus_b", "cus_a", "cus_c", "cus_a", "cus_b", "cus_a"]
    bodies = [charge_body(f"serial-{i}", customer=c) for i, c in enumerate(customers)]
    # WHEN the batch is processed
    failed = invoke(sqs_event(*bodies))
    # THEN every record was charged, no customer ever had two charges in flight, the
    # customers overlapped, and one customer's records went in the batch's order
    assert failed == []
    assert counted(MetricName.SUCCEEDED) == 7
    assert most == {"cus_a": 1, "cus_b": 1, "cus_c": 1}
    assert [r for r in order if r in ("serial-0", "serial-2", "serial-4", "serial-6")] == [
        "serial-0",
        "serial-2",
        "serial-4",
        "serial-6",
    ]


def test_a_redriven_request_already_charged_is_not_charged_again(
    invoke: Invoke, gateway: FakeGateway, redriven_event, counted: Counted
):
    # GIVEN a request charged once, whose message an operator later redrove from the DLQ
    # (a new message: new ID, new SentTimestamp, receive count 1; tests/events/redriven.json)
    (record,) = redriven_event["Records"]
    invoke(sqs_event(record["body"]))
    # WHEN the redriven message is delivered
    failed = invoke(redriven_event)
    # THEN the stored result answers it: no second charge
    assert failed == []
    assert gateway.charges_of("order-7781:charge") == 1
    assert counted(MetricName.DUPLICATE_SUPPRESSED) == 1


def test_a_redriven_request_never_charged_is_charged_once(
    invoke: Invoke, gateway: FakeGateway, redriven_event, store: InMemoryPersistenceLayer
):
    # GIVEN a request dead-lettered before any charge (retries exhausted), then redriven
    # WHEN the redriven message is delivered
    failed = invoke(redriven_event)
    # THEN it is charged once and its record completed
    assert failed == []
    assert gateway.charges_of("order-7781:charge") == 1
    assert store.statuses() == ["COMPLETED"]


def test_a_redriven_request_whose_attempt_failed_looks_stripe_up_first(
    invoke: Invoke, gateway: FakeGateway, redriven_event, store: InMemoryPersistenceLayer
):
    # GIVEN a request whose every delivery failed after it may have reached Stripe (issue
    # 12: the answer was lost), so the redrive policy moved it to the DLQ
    (record,) = redriven_event["Records"]
    gateway.will("order-7781:charge", raising(TransientFailure(Reason.STRIPE_UNREACHABLE, "lost")))
    invoke(sqs_event(record["body"]))
    # WHEN an operator's move task redrives it: a new message, receive count 1, a new
    # SentTimestamp, nothing of ours on it (tests/events/redriven.json)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    failed = invoke(redriven_event)
    # THEN the claim it takes over is the evidence: the gateway is told to look up first
    assert failed == []
    assert gateway.calls == [("order-7781:charge", False), ("order-7781:charge", True)]
    assert store.statuses() == ["COMPLETED"]


def test_a_fresh_request_is_charged_without_a_look_up(invoke: Invoke, gateway: FakeGateway):
    invoke(sqs_event(charge_body("fresh-1")))
    assert gateway.calls == [("fresh-1", False)]
