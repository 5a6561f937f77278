"""Stripe's rate limits and object lock timeouts, on by default at the sandbox figures.

Source: https://docs.stripe.com/rate-limits (global limit 25 requests/s in a sandbox, 100/s
live; each endpoint 25/s unless listed; each named operation its own endpoint; lock
timeouts). The SDK's handling of 429s: stripe-python ``_http_client.HTTPClient._should_retry``
(retries only on ``Stripe-Should-Retry: true``) and https://github.com/stripe/stripe-dotnet/issues/1886
(Stripe's maintainers: real rate limits are not retried, lock timeouts are).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import stripe

from stripe_emulator import EmulatorControl, ManualClock, StripeEmulator
from stripe_emulator.__main__ import _rate_limits, parse_args
from stripe_emulator.fixtures import create_customer
from stripe_emulator.ratelimit import LIVE, SANDBOX, RateLimits, SlidingWindow, endpoint_key
from tests.emulator.conftest import API_KEY, ClientFactory


def _outcome(call) -> str:
    try:
        call()
    except stripe.RateLimitError as error:
        return f"429 {error.error.code if error.error else None}"
    return "ok"


def test_the_sandbox_endpoint_limit_refuses_the_26th_request_in_a_second_and_the_sdk_does_not_retry(
    emulator: StripeEmulator, make_client: ClientFactory
):
    """docs.stripe.com/rate-limits: 25 requests/s per endpoint and per sandbox account."""
    # GIVEN the emulator at its defaults (sandbox) and a client that would retry what it may
    client = make_client(max_network_retries=2)
    # (a second on, so the requests that set up the fixtures' customer are out of the window)
    emulator.advance(1)
    # WHEN 26 list requests arrive in the same instant (the clock stands still)
    outcomes = [_outcome(client.v1.payment_intents.list) for _ in range(26)]
    # THEN 25 pass and the 26th is a 429 rate_limit, which the SDK did not retry
    assert outcomes == ["ok"] * 25 + ["429 rate_limit"]
    ledger = emulator.ledger()
    assert ledger["requests"]["list"] == 26
    assert ledger["requests"]["rate_limited"] == 1
    # AND one second later on the emulator's clock the window has room again
    emulator.advance(1)
    client.v1.payment_intents.list()


def test_a_rate_limited_answer_has_stripes_shape(emulator: StripeEmulator, client):
    """docs.stripe.com/rate-limits and docs.stripe.com/error-codes#rate-limit."""
    emulator.set_rate_limits(RateLimits(global_per_second=1, endpoint_per_second=1))
    client.v1.payment_intents.list()
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.payment_intents.list()
    error = caught.value
    assert error.http_status == 429
    assert error.error is not None and error.error.code == "rate_limit"
    assert error.error is not None and error.error.type == "invalid_request_error"
    assert error.headers is not None
    assert error.headers.get("Stripe-Should-Retry") == "false"


def test_each_named_operation_is_its_own_endpoint_and_ids_share_one(
    emulator: StripeEmulator, client
):
    """docs.stripe.com/rate-limits: POST /v1/payment_intents, GET /v1/payment_intents and
    GET /v1/payment_intents/{id} are different endpoints; different IDs count as one."""
    # GIVEN live-mode limits: 100/s for the account, 25/s per endpoint
    emulator.set_rate_limits("live")
    # AND 25 customers made through the API, a second after the fixtures' customer and a
    # second before the count starts (so neither's requests are in the window)
    emulator.advance(1)
    customers = [create_customer(emulator.url, API_KEY, payment_method=None) for _ in range(25)]
    emulator.advance(1)
    created = [
        client.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "customer": customer.id}
        )
        for customer in customers
    ]
    # WHEN each endpoint is used 25 times in the same second (retrieves with 25 IDs)
    for _ in range(25):
        client.v1.payment_intents.list()
    for intent in created:
        client.v1.payment_intents.retrieve(intent.id)
    # THEN the 26th call of any of them is refused by its endpoint's limit, not the global
    assert _outcome(lambda: client.v1.payment_intents.retrieve(created[0].id)) == ("429 rate_limit")
    assert _outcome(client.v1.payment_intents.list) == "429 rate_limit"
    assert emulator.ledger()["rate_limits"] == {"endpoint": 2}


def test_the_sandbox_global_limit_counts_every_endpoint(emulator: StripeEmulator, client):
    """docs.stripe.com/rate-limits: 25 requests/s for a sandbox account, all endpoints."""
    # (a second on, so the requests that set up the fixtures' customer are out of the window)
    emulator.advance(1)
    intent = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    for _ in range(12):
        client.v1.payment_intents.list()
    for _ in range(12):
        client.v1.payment_intents.retrieve(intent.id)
    assert _outcome(client.v1.payment_intents.list) == "429 rate_limit"
    assert emulator.ledger()["rate_limits"] == {"global": 1}


def test_live_figures_allow_100_requests_a_second_across_endpoints(
    emulator: StripeEmulator, client
):
    """docs.stripe.com/rate-limits: 100 requests/s in live mode."""
    emulator.set_rate_limits("live")
    intent = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    calls = [client.v1.payment_intents.list] * 25 + [
        lambda: client.v1.payment_intents.retrieve(intent.id)
    ] * 25
    assert [_outcome(call) for call in calls] == ["ok"] * 50


def test_the_window_is_a_sliding_second_not_a_refilling_bucket():
    """The stricter reading of "25 requests per second" (docs.stripe.com/rate-limits): at
    most 25 in any one-second window; a token bucket would admit nearly 50."""
    window = SlidingWindow(25)
    for _ in range(25):
        assert window.has_room(0.0)
        window.admit(0.0)
    assert not window.has_room(0.5)
    assert not window.has_room(0.999)
    assert window.has_room(1.0)


def test_endpoint_keys_replace_ids_in_the_path():
    assert endpoint_key("POST", "/v1/payment_intents") == "POST /v1/payment_intents"
    assert endpoint_key("GET", "/v1/payment_intents/pi_1") == "GET /v1/payment_intents/{id}"
    assert (
        endpoint_key("POST", "/v1/payment_methods/pm_1/attach")
        == "POST /v1/payment_methods/{id}/attach"
    )


def test_concurrent_writes_to_one_customer_get_lock_timeout_which_the_sdk_retries(
    emulator: StripeEmulator, make_client: ClientFactory
):
    """docs.stripe.com/rate-limits#object-lock-timeouts: 429 lock_timeout for concurrent
    requests on one object; Stripe's libraries retry these. Which objects a charge locks is
    not documented: the emulator locks the customer (the stricter reading)."""
    # GIVEN two customers made through the API, and a charge of the first that holds Stripe
    # for a second
    locked = create_customer(emulator.url, API_KEY, payment_method=None).id
    other_customer = create_customer(emulator.url, API_KEY, payment_method=None).id
    emulator.add_fault({"kind": "latency", "ms": 1000, "match": {"customer": locked}})
    params: Any = {"amount": 1000, "currency": "usd", "customer": locked, "confirm": True}
    params["payment_method"] = "pm_card_visa"
    first = threading.Thread(target=lambda: make_client().v1.payment_intents.create(params=params))
    first.start()
    time.sleep(0.3)
    # WHEN another charge of the same customer arrives meanwhile, without SDK retries
    with pytest.raises(stripe.RateLimitError) as caught:
        make_client().v1.payment_intents.create(params=params)
    # THEN it is a 429 lock_timeout that tells the SDK to retry
    assert caught.value.error is not None and caught.value.error.code == "lock_timeout"
    assert caught.value.headers is not None
    assert caught.value.headers.get("Stripe-Should-Retry") == "true"
    # AND another customer is not held up
    other: Any = {**params, "customer": other_customer}
    make_client().v1.payment_intents.create(params=other)
    # AND with the SDK's retries the same charge goes through once the first one is done
    retried = make_client(max_network_retries=3).v1.payment_intents.create(params=params)
    first.join()
    assert retried.status == "succeeded"
    assert emulator.ledger()["rate_limits"]["lock_timeout"] >= 2


def test_rate_limits_are_set_by_constructor_cli_and_control_api(make_client: ClientFactory):
    """The sandbox figures are the default everywhere; live and off are one switch away."""
    assert StripeEmulator(API_KEY)._state.settings.rate_limits == SANDBOX
    assert StripeEmulator(API_KEY, rate_limits="live")._state.settings.rate_limits == LIVE
    assert _rate_limits(parse_args([])) == SANDBOX
    assert _rate_limits(parse_args(["--rate-limits", "live"])) == LIVE
    tuned = _rate_limits(parse_args(["--global-rate-limit", "50", "--endpoint-rate-limit", "5"]))
    assert tuned == RateLimits(global_per_second=50, endpoint_per_second=5)
    with pytest.raises(ValueError, match="preset"):
        RateLimits.parse("turbo")
    with StripeEmulator(API_KEY, clock=ManualClock()) as emulator:
        control = EmulatorControl(emulator.url)
        assert control.rate_limits() == SANDBOX.to_dict()
        control.set_rate_limits("live")
        assert control.rate_limits()["global_per_second"] == 100
        control.set_rate_limits(None)
        assert control.rate_limits()["endpoint_per_second"] is None


def test_the_customer_fixture_retries_429s_with_backoff():
    """docs.stripe.com/rate-limits ("Handling limiting gracefully": retry with exponential
    backoff): the fixture's three requests under a limit of two a second still make the
    customer, on an emulator whose clock is real time."""
    with StripeEmulator(
        API_KEY, rate_limits=RateLimits(global_per_second=2, endpoint_per_second=2)
    ) as emulator:
        saved = create_customer(emulator.url, API_KEY, payment_method="pm_card_visa")
        client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
        emulator.advance(1)
        customer = client.v1.customers.retrieve(saved.id)
        assert customer.invoice_settings is not None
        assert customer.invoice_settings.default_payment_method == saved.payment_method
        assert emulator.ledger()["requests"]["rate_limited"] >= 1
