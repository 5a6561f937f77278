"""The ledger's facts as each writer reads them: stored results, dead letters, webhook
events, and the outcome events announcing a change. No servers: plain data in, facts out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from charges.dead_letter_ledger import dead_letter_fact
from charges.outcomes import ChargeResult, PoisonMessage, Reason, TransientFailure
from ledger.events import NotAStateChange, OutcomeEvent, json_schema, outcome_event
from ledger.facts import Source
from ledger.states import State, event_id
from outbox.records import UnexpectedRecord, fact_of, stored_result
from tests.samples import charge_body
from webhooks.events import Ignored, MalformedEvent
from webhooks.events import fact_of as webhook_fact

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "charge-outcome.v1.json"


def test_states_only_move_forward_and_final_states_share_the_last_rank():
    # GIVEN the ledger's states
    # THEN dead_lettered is the lowest (a redrive may still charge), pending next, and the
    # three final states rank alike (none can replace another)
    assert State.DEAD_LETTERED.rank < State.PENDING.rank < State.CHARGED.rank
    assert {State.CHARGED.rank, State.DECLINED.rank, State.FAILED.rank} == {3}
    assert [s.is_final for s in State] == [False, False, True, True, True]
    assert event_id("order-1", State.CHARGED) == "order-1/charged"
    assert State.FAILED.detail_type == "charge.failed"


def completed_image(result: ChargeResult | str) -> dict[str, Any]:
    data = result if isinstance(result, str) else result.model_dump_json()
    return {"id": "chargeq.charge.v1#abc", "status": "COMPLETED", "data": data}


def test_a_completed_record_states_its_result_with_the_customer():
    # GIVEN a stored pending result, as Powertools writes it (data: the result's JSON)
    result = ChargeResult(
        request_id="ach-1",
        outcome="pending",
        customer="cus_good",
        payment_intent_id="pi_1",
        status="processing",
        amount=1500,
        currency="usd",
    )
    # WHEN the outbox reads the stream record's new image
    read = stored_result(completed_image(result))
    assert read is not None
    fact = fact_of(read, datetime(2026, 1, 2, tzinfo=UTC))
    # THEN the fact is the pending state, with the request and the PaymentIntent
    assert (fact.state, fact.source) == (State.PENDING, Source.CHARGE_RECORD)
    assert (fact.customer, fact.amount, fact.currency) == ("cus_good", 1500, "usd")
    assert fact.payment_intent_id == "pi_1"
    assert fact.at == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    "image",
    [
        None,
        {"id": "k", "status": "INPROGRESS", "in_progress_expiration": 0},
        {"id": "k", "status": "EXPIRED"},
    ],
)
def test_images_that_store_no_result_state_nothing(image: dict[str, Any] | None):
    # GIVEN a claim in progress, a released claim, or a deletion (no new image)
    # THEN the outbox learns nothing from it
    assert stored_result(image) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [(None, "no_result"), (b"x", "no_result"), ('{"outcome": "charged"}', "result_unreadable")],
)
def test_a_completed_record_without_a_readable_result_is_unexpected(data: Any, reason: str):
    # GIVEN a COMPLETED record whose data is missing or is not a ChargeResult
    image = {"id": "k", "status": "COMPLETED", "data": data}
    # THEN it is refused with a reason (the handler logs, counts and skips it)
    with pytest.raises(UnexpectedRecord) as caught:
        stored_result(image)
    assert caught.value.reason == reason


def test_a_result_stored_before_customer_was_added_still_reads():
    # GIVEN a result stored by the function before ChargeResult had a customer
    old = json.dumps(
        {
            "request_id": "r",
            "outcome": "charged",
            "payment_intent_id": "pi_1",
            "status": "succeeded",
            "amount": 1,
            "currency": "usd",
        }
    )
    read = stored_result(completed_image(old))
    # THEN it reads, without a customer (the ledger leaves the field unset)
    assert read is not None and read.customer is None


def test_a_dead_letter_fact_keeps_only_fields_of_the_contracts_shape():
    # GIVEN a poison body with a usable request_id, a good customer and a bad amount
    body = json.dumps(charge_body("order-9", amount="12", currency="USD"))
    # WHEN it is dead-lettered
    fact = dead_letter_fact(body, PoisonMessage(Reason.CONTRACT_VIOLATION, "amount: int"))
    # THEN the ledger learns the request and the reason, never a malformed value
    assert fact is not None
    assert (fact.request_id, fact.state, fact.reason) == (
        "order-9",
        State.DEAD_LETTERED,
        "contract_violation",
    )
    assert (fact.customer, fact.amount, fact.currency) == ("cus_good", None, None)


@pytest.mark.parametrize(
    "body",
    ["not json", "[1]", json.dumps({"request_id": 7}), json.dumps({"request_id": "a b"}), ""],
)
def test_a_body_without_a_usable_request_id_has_no_ledger_item(body: str):
    # GIVEN poison that names no request (there is no key to record it under)
    failure = TransientFailure(Reason.RETRIES_EXHAUSTED, "x")
    # THEN no fact (the DLQ still keeps it, with its reason)
    assert dead_letter_fact(body, failure) is None


def stripe_event(event_type: str, **intent: Any) -> dict[str, Any]:
    """A PaymentIntent event shaped as docs.stripe.com/api/events/object describes it."""
    payment_intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 1500,
        "currency": "usd",
        "customer": "cus_good",
        "status": "succeeded",
        "metadata": {"request_id": "order-1"},
    } | intent
    return {
        "id": "evt_1",
        "object": "event",
        "type": event_type,
        "created": 1_700_000_000,
        "data": {"object": payment_intent},
    }


@pytest.mark.parametrize(
    ("event_type", "state"),
    [
        ("payment_intent.succeeded", State.CHARGED),
        ("payment_intent.processing", State.PENDING),
        ("payment_intent.payment_failed", State.FAILED),
    ],
)
def test_each_handled_event_type_states_its_state(event_type: str, state: State):
    # GIVEN a verified event of a handled type for one of our PaymentIntents
    fact = webhook_fact(stripe_event(event_type))
    # THEN its fact names the request, the state, the event, and the event's time
    assert not isinstance(fact, Ignored)
    assert (fact.request_id, fact.state, fact.stripe_event_id) == ("order-1", state, "evt_1")
    assert fact.at == datetime.fromtimestamp(1_700_000_000, UTC)
    # AND only a failure must find the request pending on that very PaymentIntent
    assert fact.requires_pending_on == ("pi_1" if state is State.FAILED else None)


def test_a_failure_carries_the_banks_codes():
    event = stripe_event(
        "payment_intent.payment_failed",
        status="requires_payment_method",
        last_payment_error={"code": "insufficient_funds", "decline_code": None},
    )
    fact = webhook_fact(event)
    assert not isinstance(fact, Ignored)
    assert (fact.error_code, fact.stripe_status) == (
        "insufficient_funds",
        "requires_payment_method",
    )


def test_events_of_other_types_and_foreign_intents_are_ignored():
    # GIVEN an event type the endpoint does not handle, and an intent without request_id
    # THEN both are ignored, each with its reason
    assert webhook_fact(stripe_event("charge.refunded")) is Ignored.OTHER_TYPE
    foreign = stripe_event("payment_intent.succeeded", metadata={})
    assert webhook_fact(foreign) is Ignored.NOT_OURS


@pytest.mark.parametrize(
    "broken", [{"data": {}}, {"data": {"object": {"object": "charge"}}}, {"created": "today"}]
)
def test_a_handled_event_without_a_readable_intent_is_malformed(broken: dict[str, Any]):
    event = stripe_event("payment_intent.succeeded") | broken
    with pytest.raises(MalformedEvent):
        webhook_fact(event)


LEDGER_ITEM = {
    "request_id": "order-1",
    "state": "charged",
    "state_rank": 3,
    "customer": "cus_good",
    "amount": 1500,
    "currency": "usd",
    "payment_intent_id": "pi_1",
    "stripe_status": "succeeded",
    "created_at": "2026-01-02T03:04:05.000Z",
    "updated_at": "2026-01-02T03:04:06.000Z",
    "transitions": [],
}


def test_a_state_change_is_announced_with_a_stable_id():
    # GIVEN a ledger item that moved from pending to charged
    old = LEDGER_ITEM | {"state": "pending", "state_rank": 2}
    # WHEN its stream record is read
    event = outcome_event(LEDGER_ITEM, old)
    # THEN the event names the change, and its ID is the same on every retry
    assert event.detail_type == "charge.charged"
    assert (event.event_id, event.previous_state) == ("order-1/charged", "pending")
    assert event.occurred_at == LEDGER_ITEM["updated_at"]
    assert outcome_event(LEDGER_ITEM, old) == event


def test_a_write_that_keeps_the_state_announces_nothing():
    with pytest.raises(NotAStateChange):
        outcome_event(LEDGER_ITEM, LEDGER_ITEM)


def test_a_first_state_has_no_previous_state():
    assert outcome_event(LEDGER_ITEM, None).previous_state is None


def test_published_outcome_schema_matches_the_model():
    # The file consumers in other languages use must be regenerated when the model changes:
    #   python -m chargeq.schema outcome > schema/charge-outcome.v1.json
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()
    assert set(json_schema()["required"]) == {"event_id", "request_id", "state", "occurred_at"}
    assert set(json_schema()["properties"]["state"]["enum"]) == {s.value for s in State}
    assert OutcomeEvent.model_config.get("extra") == "forbid"
