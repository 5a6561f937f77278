"""The PaymentIntents endpoints through the real SDK: create, retrieve, list, validation,
authentication and unknown routes."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import TestCustomer, create_customer
from tests.emulator.conftest import API_KEY, ClientFactory
from tests.emulator.scenarios import CURRENT, charge_params, create


def test_confirmed_off_session_create_succeeds_with_stripe_shaped_intent(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN an off-session charge of a saved card
    # WHEN it is created and confirmed at once
    intent = create(client, "order-1", description="two books", metadata={"request_id": "order-1"})
    # THEN Stripe's fields are there, stamped with the emulator's clock
    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
    assert intent.status == "succeeded"
    assert (intent.amount, intent.amount_received, intent.currency) == (1500, 1500, "usd")
    assert (intent.customer, intent.payment_method) == (
        CURRENT["customer"],
        CURRENT["payment_method"],
    )
    assert intent.description == "two books"
    assert intent.metadata["request_id"] == "order-1"
    assert intent.livemode is False
    assert intent.last_payment_error is None
    assert isinstance(intent.latest_charge, str)
    assert intent.latest_charge.startswith("ch_")
    assert intent.created == int(emulator.now())


def test_retrieve_returns_the_stored_intent(client: stripe.StripeClient):
    created = create(client, "order-2")
    fetched = client.v1.payment_intents.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.status == "succeeded"
    assert fetched.metadata["request_id"] == "order-2"


def test_retrieve_of_unknown_intent_is_404_resource_missing(client: stripe.StripeClient):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_does_not_exist")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_create_without_confirm_waits_for_confirmation(client: stripe.StripeClient):
    params = charge_params("order-3", confirm=False, off_session=None)
    intent = client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
    assert intent.status == "requires_confirmation"
    assert intent.amount_received == 0


def test_manual_capture_leaves_the_amount_capturable(client: stripe.StripeClient):
    intent = create(client, "order-4", capture_method="manual")
    assert intent.status == "requires_capture"
    assert (intent.amount_capturable, intent.amount_received) == (1500, 0)


def test_currency_is_returned_lowercase(client: stripe.StripeClient):
    assert create(client, "order-5", currency="EUR").currency == "eur"


def test_list_filters_by_customer_and_created_range_newest_first(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN intents for two customers, made an hour apart
    alice, bob = (create_customer(emulator.url, API_KEY) for _ in range(2))

    def charge(request_id: str, who: TestCustomer) -> stripe.PaymentIntent:
        return create(client, request_id, customer=who.id, payment_method=who.payment_method)

    early = charge("a-1", alice)
    charge("b-1", bob)
    emulator.advance(3600)
    late = charge("a-2", alice)
    latest = charge("a-3", alice)
    # WHEN Alice's intents are listed, all and then only the last half hour's
    everything = client.v1.payment_intents.list(params={"customer": alice.id})
    recent = client.v1.payment_intents.list(
        params={"customer": alice.id, "created": {"gte": int(emulator.now()) - 1800}}
    )
    before = client.v1.payment_intents.list(params={"created": {"lt": late.created}})
    # THEN each listing holds what matches, newest first
    assert [i.id for i in everything.data] == [latest.id, late.id, early.id]
    assert [i.id for i in recent.data] == [latest.id, late.id]
    assert [i.metadata["request_id"] for i in before.data] == ["b-1", "a-1"]
    assert everything["object"] == "list"
    assert everything.url == "/v1/payment_intents"
    assert everything.has_more is False


def test_list_paginates_with_limit_and_starting_after(client: stripe.StripeClient):
    # GIVEN five intents
    ids = [create(client, f"page-{n}").id for n in range(5)]
    # WHEN they are read two at a time
    first = client.v1.payment_intents.list(params={"limit": 2})
    second = client.v1.payment_intents.list(
        params={"limit": 2, "starting_after": first.data[-1].id}
    )
    back = client.v1.payment_intents.list(params={"limit": 2, "ending_before": second.data[0].id})
    # THEN pages follow each other newest first, and has_more says when more remain
    assert [i.id for i in first.data] == ids[::-1][:2]
    assert [i.id for i in second.data] == ids[::-1][2:4]
    assert first.has_more and second.has_more
    assert [i.id for i in back.data] == [i.id for i in first.data]
    # AND the SDK's auto-pagination walks all of them
    assert [i.id for i in first.auto_paging_iter()] == ids[::-1]


def test_list_limit_defaults_to_ten(client: stripe.StripeClient):
    for n in range(11):
        create(client, f"many-{n}")
    page = client.v1.payment_intents.list()
    assert len(page.data) == 10
    assert page.has_more is True


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"created": {"gte": "yesterday"}}, "created[gte]"),
        ({"starting_after": "pi_unknown"}, "starting_after"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_list_parameters_are_400(
    client: stripe.StripeClient, params: dict[str, object], param: str
):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.list(params=params)  # type: ignore[arg-type]
    assert raised.value.http_status == 400
    assert raised.value.param == param


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"amount": None}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"amount": "12.5"}, "amount"),
        ({"amount": 100_000_000}, "amount"),
        ({"currency": None}, "currency"),
        ({"currency": "dollars"}, "currency"),
        ({"customer": None}, "customer"),  # off_session needs the customer
        ({"confirm": False}, "off_session"),  # off_session only with confirm
        ({"capture_method": "later"}, "capture_method"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]"),
        ({"surprise": "yes"}, "surprise"),
    ],
)
def test_invalid_create_parameters_are_400_with_the_param(
    client: stripe.StripeClient, overrides: dict[str, Any], param: str
):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "bad", **overrides)
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.error is not None
    assert raised.value.error.type == "invalid_request_error"


def test_wrong_api_key_is_401(make_client: ClientFactory, emulator: StripeEmulator):
    client = make_client(api_key="sk_test_wrong")
    with pytest.raises(stripe.AuthenticationError) as raised:
        create(client, "order-6")
    assert raised.value.http_status == 401
    assert emulator.ledger()["payment_intents"] == 0
    assert emulator.ledger()["requests"]["unauthorized"] == 1


def test_missing_api_key_is_401(emulator: StripeEmulator):
    response = requests.get(f"{emulator.url}/v1/payment_intents", timeout=5)
    assert response.status_code == 401
    assert "did not provide an API key" in response.json()["error"]["message"]


def test_basic_auth_with_the_key_as_user_name_is_accepted(emulator: StripeEmulator):
    response = requests.get(f"{emulator.url}/v1/payment_intents", auth=(API_KEY, ""), timeout=5)
    assert response.status_code == 200
    assert response.json()["object"] == "list"


def test_unknown_route_is_404_stripe_shaped(emulator: StripeEmulator):
    response = requests.post(
        f"{emulator.url}/v1/charges",
        headers={"Authorization": f"Bearer {API_KEY}"},
        data={"amount": 100},
        timeout=5,
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Unrecognized request URL" in error["message"]


def test_responses_carry_request_id_and_version(client: stripe.StripeClient):
    intent = create(client, "order-7")
    assert intent.last_response is not None
    headers = intent.last_response.headers
    assert headers["Request-Id"].startswith("req_")
    assert headers["Idempotency-Key"] == "key-order-7"
    assert headers["Stripe-Version"]


def test_one_keep_alive_connection_serves_many_requests(emulator: StripeEmulator):
    # GIVEN one HTTP/1.1 connection
    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    try:
        # WHEN it carries several requests, error answers among them
        statuses = []
        for path in ["/v1/payment_intents", "/v1/nothing", "/v1/payment_intents/pi_x"] * 2:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            json.loads(response.read())
            statuses.append(response.status)
    finally:
        connection.close()
    # THEN every answer is framed by its Content-Length and the connection stays usable
    assert statuses == [200, 404, 404] * 2


def test_numeric_metadata_keys_and_arrays_survive_the_form_encoding(
    client: stripe.StripeClient,
):
    intent = create(
        client,
        "order-8",
        metadata={"request_id": "order-8", "0": "zero"},
        payment_method_types=["card"],
    )
    assert intent.metadata.to_dict() == {"request_id": "order-8", "0": "zero"}
    assert intent.payment_method_types == ["card"]


def test_chunked_request_bodies_are_read(emulator: StripeEmulator):
    # GIVEN a client that streams its body in chunks instead of sending a Content-Length
    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    try:
        connection.request(
            "POST",
            "/v1/payment_intents",
            body=iter([b"amount=100&curr", b"ency=usd"]),
            headers={"Authorization": f"Bearer {API_KEY}"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        intent = json.loads(response.read())
    finally:
        connection.close()
    # THEN the body arrives whole
    assert response.status == 200
    assert (intent["amount"], intent["currency"]) == (100, "usd")
