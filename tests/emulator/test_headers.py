"""Headers and error shapes as Stripe sends them, seen through the real SDK.

Sources: https://docs.stripe.com/api/request_ids (``Request-Id`` on every response),
https://docs.stripe.com/api/idempotent_requests and https://docs.stripe.com/error-low-level
(``Idempotent-Replayed``, a 409 for a key whose first request is still running, results saved
once execution began), stripe-python ``_http_client.HTTPClient._should_retry``
(``Stripe-Should-Retry``), https://docs.stripe.com/error-codes (``parameter_unknown``,
``parameter_missing``, ``idempotency_key_in_use``), stripe-go #1231 (a parameter_unknown body).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator import StripeEmulator
from tests.emulator.conftest import API_KEY, ClientFactory
from tests.emulator.scenarios import create, wait_until


def test_every_answer_carries_a_request_id(client: stripe.StripeClient, emulator: StripeEmulator):
    # GIVEN answers of every kind: 200, 400, 402, 404, 401
    intent = create(client, "ok-1")
    assert intent.last_response is not None
    ids = [intent.last_response.request_id]
    for call in (
        lambda: create(client, "bad-1", amount=1),
        lambda: create(client, "dec-1", payment_method="pm_card_visa_chargeDeclined"),
        lambda: client.v1.payment_intents.retrieve("pi_missing"),
    ):
        with pytest.raises(stripe.StripeError) as raised:
            call()
        ids.append(raised.value.request_id)
    unauthorized = requests.get(f"{emulator.url}/v1/customers/cus_x", timeout=5)
    ids.append(unauthorized.headers.get("Request-Id"))
    # THEN each has its own req_ ID
    assert all(isinstance(i, str) and i.startswith("req_") for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_replay_names_the_original_request(client: stripe.StripeClient):
    first = create(client, "replay-1", key="k-replay")
    again = create(client, "replay-1", key="k-replay")
    assert first.last_response is not None and again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert "Idempotent-Replayed" not in first.last_response.headers


def test_a_key_still_running_is_409_idempotency_key_in_use(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a first request holding its key for a while
    emulator.add_fault({"kind": "hang", "seconds": 2, "count": 1})
    outcomes: list[str] = []
    first = threading.Thread(
        target=lambda: outcomes.append(create(client, "slow-1", key="k-slow").status),
        daemon=True,
    )
    first.start()
    wait_until(lambda: emulator.faults()[0]["injected"] == 1)
    # WHEN the same key arrives meanwhile
    with pytest.raises(stripe.StripeError) as raised:
        create(client, "slow-1", key="k-slow")
    # THEN it is 409 idempotency_key_in_use, and Stripe says a retry may work
    assert raised.value.http_status == 409
    body: Any = raised.value.json_body or {}
    assert body["error"]["code"] == "idempotency_key_in_use"
    assert (raised.value.headers or {}).get("Stripe-Should-Retry") == "true"
    # AND the first request, once done, charged as usual
    first.join(timeout=10)
    assert outcomes == ["succeeded"]


def test_parameter_errors_carry_their_code(client: stripe.StripeClient):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        create(client, "p-1", colour="blue")
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        create(client, "p-2", amount=None)
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "amount")
    customer = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as attach:
        client.v1.payment_methods.attach("pm_card_visa", params={})
    assert (attach.value.code, attach.value.param) == ("parameter_missing", "customer")
    assert customer.id.startswith("cus_")


def test_a_server_error_before_execution_lets_the_sdk_retry_it(
    make_client: ClientFactory, emulator: StripeEmulator
):
    """Nothing was saved, so a retry can succeed: no ``Stripe-Should-Retry: false``."""
    emulator.add_fault({"kind": "server_error_before", "count": 1})
    intent = create(make_client(max_network_retries=1), "retry-1")
    assert intent.status == "succeeded"
    assert emulator.ledger()["requests"]["create"] == 2


def test_error_bodies_are_read_by_the_sdk_as_stripe_errors(emulator: StripeEmulator):
    response = requests.post(
        f"{emulator.url}/v1/customers",
        headers={"Authorization": f"Bearer {API_KEY}"},
        data={"favourite_colour": "blue"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
    assert response.headers["Request-Id"].startswith("req_")
