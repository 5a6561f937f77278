"""Stripe's idempotency rules: replay, conflicts, validation and the 24-hour key lifetime."""

from __future__ import annotations

import threading

import pytest
import stripe

from stripe_emulator import KEY_LIFETIME_SECONDS, StripeEmulator
from tests.emulator.conftest import OTHER_API_KEY, ClientFactory
from tests.emulator.scenarios import charge_params, create, replayed, wait_until


def test_same_key_and_params_replays_the_first_response(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a charge made with a key
    first = create(client, "order-1", key="k-1")
    # WHEN the same request is sent again with the same key
    second = create(client, "order-1", key="k-1")
    # THEN the saved response comes back, marked as replayed, and there is one intent
    assert second.id == first.id
    assert not replayed(first)
    assert replayed(second)
    ledger = emulator.ledger()
    assert ledger["payment_intents"] == 1
    assert ledger["by_request_id"]["order-1"]["created"] == 1
    assert ledger["requests"]["replayed"] == 1
    assert ledger["double_charges"] == []


def test_parameter_order_does_not_make_a_different_request(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    params = charge_params("order-2")
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-2"})  # type: ignore[arg-type]
    reordered = dict(reversed(list(params.items())))
    second = client.v1.payment_intents.create(
        params=reordered,  # type: ignore[arg-type]
        options={"idempotency_key": "k-2"},
    )
    assert second.id == first.id
    assert replayed(second)


def test_a_decline_is_saved_and_replayed(client: stripe.StripeClient, emulator: StripeEmulator):
    # GIVEN a declined charge
    with pytest.raises(stripe.CardError) as first:
        create(client, "order-3", payment_method="pm_card_visa_chargeDeclined")
    # WHEN it is retried with the same key
    with pytest.raises(stripe.CardError) as second:
        create(client, "order-3", payment_method="pm_card_visa_chargeDeclined")
    # THEN the same 402 comes back, replayed, and Stripe tried the card once
    assert first.value.error is not None and second.value.error is not None
    assert first.value.error.payment_intent is not None
    assert second.value.error.payment_intent is not None
    assert second.value.error.payment_intent.id == first.value.error.payment_intent.id
    assert replayed(second.value)
    assert emulator.ledger()["by_request_id"]["order-3"]["created"] == 1


def test_same_key_with_other_params_is_an_idempotency_error(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    create(client, "order-4", key="k-4", amount=1000)
    with pytest.raises(stripe.IdempotencyError) as raised:
        create(client, "order-4", key="k-4", amount=2000)
    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"
    assert emulator.ledger()["payment_intents"] == 1


def test_key_still_in_flight_gets_409_and_can_be_retried(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a first request that Stripe is slow to execute
    emulator.add_fault({"kind": "latency", "ms": 1000, "match": {"request_id": "order-5"}})
    results: dict[str, stripe.PaymentIntent] = {}
    first = threading.Thread(target=lambda: results.update(first=create(client, "order-5")))
    first.start()
    wait_until(lambda: emulator.ledger()["idempotency_keys"] == 1)
    # WHEN a second request with the same key arrives meanwhile
    with pytest.raises(stripe.APIError) as raised:
        create(client, "order-5")
    first.join()
    # THEN it is refused with 409, nothing of it is saved, and a later retry gets the result
    assert raised.value.http_status == 409
    assert raised.value.error is not None
    assert raised.value.error.code == "idempotency_key_in_use"
    retry = create(client, "order-5")
    assert retry.id == results["first"].id
    assert replayed(retry)
    assert emulator.ledger()["payment_intents"] == 1
    assert emulator.ledger()["requests"]["conflict"] == 1


def test_validation_error_is_not_saved_so_the_key_can_be_retried(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a request refused by parameter validation
    with pytest.raises(stripe.InvalidRequestError):
        create(client, "order-6", key="k-6", amount=-5)
    # WHEN the same invalid request is sent again with the key
    with pytest.raises(stripe.InvalidRequestError) as again:
        create(client, "order-6", key="k-6", amount=-5)
    # THEN it is validated afresh, not replayed
    assert not replayed(again.value)
    # AND the corrected request executes under the same key (a saved 400 would have made it an
    # idempotency_error, its parameters being different)
    fixed = create(client, "order-6", key="k-6", amount=500)
    assert fixed.status == "succeeded"
    assert not replayed(fixed)
    assert emulator.ledger()["requests"]["invalid"] == 2


def test_key_longer_than_255_characters_is_rejected(client: stripe.StripeClient):
    create(client, "order-7", key="k" * 255)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "order-7", key="k" * 256)
    assert raised.value.http_status == 400


def test_key_is_pruned_after_24_hours_and_the_retry_charges_again(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a charge made with a key, and a retry within the day replayed
    first = create(client, "order-8", key="k-8")
    emulator.advance(KEY_LIFETIME_SECONDS - 60)
    assert create(client, "order-8", key="k-8").id == first.id
    # WHEN the same request comes again once the key is 24 hours old
    emulator.advance(60)
    late = create(client, "order-8", key="k-8")
    # THEN Stripe has forgotten the key: a second PaymentIntent, a double charge
    assert late.id != first.id
    assert not replayed(late)
    entry = emulator.ledger()["by_request_id"]["order-8"]
    assert (entry["created"], entry["succeeded"]) == (2, 2)
    assert emulator.double_charges() == ["order-8"]


def test_keys_are_scoped_per_api_key(
    make_client: ClientFactory, client: stripe.StripeClient, emulator: StripeEmulator
):
    other = make_client(api_key=OTHER_API_KEY)
    mine = create(client, "order-9", key="shared")
    theirs = create(other, "order-9", key="shared")
    assert theirs.id != mine.id
    assert not replayed(theirs)


def test_get_requests_ignore_idempotency_keys(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    intent = create(client, "order-10")
    fetched = client.v1.payment_intents.retrieve(intent.id, options={"idempotency_key": "k-10"})
    again = client.v1.payment_intents.retrieve(intent.id, options={"idempotency_key": "k-10"})
    assert not replayed(fetched)
    assert not replayed(again)


def test_replayed_body_is_the_saved_one_byte_for_byte(client: stripe.StripeClient):
    first = create(client, "order-11", key="k-11")
    second = create(client, "order-11", key="k-11")
    assert first.last_response is not None and second.last_response is not None
    assert second.last_response.body == first.last_response.body
    assert (
        second.last_response.headers["Original-Request"]
        == (first.last_response.headers["Request-Id"])
    )
