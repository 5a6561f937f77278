"""Fault injection through the real SDK: each kind, what is saved for the key, matching,
counts and seeded probabilities."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_emulator import FaultRule, StripeEmulator
from tests.emulator.conftest import ClientFactory
from tests.emulator.scenarios import CURRENT, create, replayed, wait_until


def test_rate_limit_is_not_saved_and_tells_the_sdk_not_to_retry(
    make_client: ClientFactory, emulator: StripeEmulator
):
    # GIVEN Stripe rate-limits the next request, and an SDK that would retry
    emulator.add_fault({"kind": "rate_limit", "count": 1})
    client = make_client(max_network_retries=2)
    # WHEN a charge is sent
    with pytest.raises(stripe.RateLimitError) as raised:
        create(client, "order-1")
    # THEN the SDK gives up at once (Stripe-Should-Retry: false) and nothing was created
    assert raised.value.http_status == 429
    assert (raised.value.headers or {})["Stripe-Should-Retry"] == "false"
    assert emulator.ledger()["requests"]["create"] == 1
    assert emulator.ledger()["payment_intents"] == 0
    # AND the same key executes on retry: the 429 was not saved
    retry = create(client, "order-1")
    assert retry.status == "succeeded"
    assert not replayed(retry)
    assert emulator.ledger()["faults"] == {"rate_limit": 1}


def test_a_saved_server_error_tells_the_sdk_not_to_retry(
    make_client: ClientFactory, emulator: StripeEmulator
):
    """A retry with the same key could only replay the saved 500: stripe-python's
    ``_should_retry`` expects ``Stripe-Should-Retry: false`` on most 500s, "since our
    idempotency framework would typically replay it anyway" (stripe/_http_client.py), and
    docs.stripe.com/error-low-level says results are saved once execution began."""
    # GIVEN a 500 saved after execution, and an SDK that would retry twice
    emulator.add_fault({"kind": "server_error_after", "count": 1})
    # WHEN the SDK calls once
    with pytest.raises(stripe.APIError) as raised:
        create(make_client(max_network_retries=2), "order-2b")
    # THEN Stripe told it not to retry, so one request was made, and the charge exists once
    assert raised.value.http_status == 500
    assert (raised.value.headers or {}).get("Stripe-Should-Retry") == "false"
    assert emulator.ledger()["requests"]["create"] == 1
    assert emulator.ledger()["payment_intents"] == 1


def test_a_replayed_server_error_says_not_to_retry_even_when_the_first_did(
    make_client: ClientFactory, emulator: StripeEmulator
):
    """Source as above: the replay of a saved 500 is the no-op retry the header exists for."""
    # GIVEN a saved 500 whose first answer invited retries
    emulator.add_fault({"kind": "server_error_after", "count": 1, "should_retry": True})
    # WHEN the SDK calls with up to two retries
    with pytest.raises(stripe.APIError) as raised:
        create(make_client(max_network_retries=2), "order-2d")
    # THEN its single retry got the replay, which said "false", and it stopped there
    assert replayed(raised.value)
    assert (raised.value.headers or {}).get("Stripe-Should-Retry") == "false"
    assert emulator.ledger()["requests"]["create"] == 2
    assert emulator.ledger()["payment_intents"] == 1


def test_server_error_can_tell_the_sdk_not_to_retry(
    make_client: ClientFactory, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "server_error_before", "status": 503, "should_retry": False})
    with pytest.raises(stripe.APIError):
        create(make_client(max_network_retries=2), "order-2c")
    assert emulator.ledger()["requests"]["create"] == 1


def test_rate_limit_that_allows_retries_is_absorbed_by_the_sdk(
    make_client: ClientFactory, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "rate_limit", "count": 1, "should_retry": True})
    intent = create(make_client(max_network_retries=1), "order-2")
    assert intent.status == "succeeded"
    assert emulator.ledger()["requests"]["create"] == 2


def test_server_error_before_execution_is_not_saved(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a 503 before Stripe starts executing
    emulator.add_fault({"kind": "server_error_before", "status": 503})
    with pytest.raises(stripe.APIError) as raised:
        create(client, "order-3")
    assert raised.value.http_status == 503
    assert emulator.ledger()["payment_intents"] == 0
    # WHEN it is retried with the same key
    retry = create(client, "order-3")
    # THEN it executes for the first time
    assert not replayed(retry)
    assert emulator.ledger()["payment_intents"] == 1


def test_server_error_after_execution_is_saved_and_replayed(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN a 500 raised after the PaymentIntent was committed
    emulator.add_fault({"kind": "server_error_after", "match": {"request_id": "order-4"}})
    with pytest.raises(stripe.APIError) as first:
        create(client, "order-4")
    # WHEN the same request is retried with the same key
    with pytest.raises(stripe.APIError) as retry:
        create(client, "order-4")
    # THEN the 500 is replayed (the outcome stays unknown to the client) ...
    assert first.value.http_status == retry.value.http_status == 500
    assert replayed(retry.value)
    # ... while the charge exists, once, findable by listing
    assert emulator.ledger()["by_request_id"]["order-4"]["succeeded"] == 1
    listed = client.v1.payment_intents.list(params={"customer": CURRENT["customer"]})
    assert [i.metadata["request_id"] for i in listed.data] == ["order-4"]


def test_lost_response_after_commit_is_a_connection_error_and_the_retry_replays(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    # GIVEN Stripe commits the charge but the response never arrives
    emulator.add_fault({"kind": "drop_after_commit", "match": {"endpoint": "create"}})
    with pytest.raises(stripe.APIConnectionError):
        create(client, "order-5")
    assert emulator.ledger()["payment_intents"] == 1
    # WHEN the client retries with the same key
    retry = create(client, "order-5")
    # THEN it gets the committed PaymentIntent, replayed: one charge
    assert replayed(retry)
    assert retry.status == "succeeded"
    assert emulator.ledger()["payment_intents"] == 1
    assert emulator.ledger()["by_request_id"]["order-5"]["payment_intents"] == [retry.id]


def test_sdk_retries_absorb_a_lost_response(make_client: ClientFactory, emulator: StripeEmulator):
    emulator.add_fault({"kind": "drop_after_commit"})
    intent = create(make_client(max_network_retries=1), "order-6")
    assert replayed(intent)
    assert emulator.ledger()["payment_intents"] == 1


def test_dropped_request_before_execution_creates_nothing(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "drop_before"})
    with pytest.raises(stripe.APIConnectionError):
        create(client, "order-7")
    assert emulator.ledger()["payment_intents"] == 0
    retry = create(client, "order-7")
    assert not replayed(retry)
    assert emulator.ledger()["payment_intents"] == 1


def test_hang_outlasts_the_client_timeout_then_commits(
    make_client: ClientFactory, emulator: StripeEmulator
):
    # GIVEN Stripe takes longer than the client waits
    emulator.add_fault({"kind": "hang", "seconds": 1.0})
    client = make_client(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError):
        create(client, "order-8")
    assert time.monotonic() - started < 0.9
    # WHEN the client retries while Stripe still works on the first request
    with pytest.raises(stripe.APIError) as conflict:
        create(client, "order-8")
    assert conflict.value.http_status == 409
    # THEN, once Stripe is done, the charge exists and the retry gets it, replayed
    wait_until(lambda: emulator.ledger()["payment_intents"] == 1)
    retry = create(client, "order-8")
    assert replayed(retry)
    assert emulator.ledger()["payment_intents"] == 1


def test_hang_then_drop_executes_nothing_and_frees_the_key(
    make_client: ClientFactory, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "hang", "seconds": 0.3, "then": "drop"})
    client = make_client(timeout=5)
    with pytest.raises(stripe.APIConnectionError):
        create(client, "order-9")
    retry = create(client, "order-9")
    assert not replayed(retry)
    assert emulator.ledger()["payment_intents"] == 1


def test_latency_fault_delays_only_matching_requests(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "latency", "ms": 400, "count": 5, "match": {"endpoint": "list"}})
    started = time.monotonic()
    create(client, "order-10")
    created_in = time.monotonic() - started
    started = time.monotonic()
    client.v1.payment_intents.list()
    listed_in = time.monotonic() - started
    assert created_in < 0.3
    assert listed_in >= 0.4


def test_default_latency_with_jitter_applies_to_every_request(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    emulator.set_latency(100, jitter_ms=50)
    durations = []
    for n in range(3):
        started = time.monotonic()
        create(client, f"order-11-{n}")
        durations.append(time.monotonic() - started)
    assert all(0.05 <= d < 0.4 for d in durations)


def test_rules_match_on_request_id(client: stripe.StripeClient, emulator: StripeEmulator):
    emulator.add_fault({"kind": "server_error_before", "match": {"request_id": "unlucky"}})
    assert create(client, "lucky").status == "succeeded"
    with pytest.raises(stripe.APIError):
        create(client, "unlucky")


def test_count_limits_injections_and_faults_report_it(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    rule_id = emulator.add_fault({"kind": "server_error_before", "count": 2})
    for n in range(2):
        with pytest.raises(stripe.APIError):
            create(client, f"order-12-{n}")
    assert create(client, "order-12-2").status == "succeeded"
    (rule,) = emulator.faults()
    assert (rule["id"], rule["remaining"], rule["injected"]) == (rule_id, 0, 2)
    assert emulator.ledger()["faults"] == {"server_error_before": 2}
    assert emulator.ledger()["requests"]["faulted"] == 2


def test_answering_fault_wins_over_latency(client: stripe.StripeClient, emulator: StripeEmulator):
    emulator.add_fault({"kind": "latency", "ms": 2000})
    emulator.add_fault({"kind": "rate_limit"})
    started = time.monotonic()
    with pytest.raises(stripe.RateLimitError):
        create(client, "order-13")
    assert time.monotonic() - started < 1.0
    assert emulator.faults()[0]["injected"] == 0


def _failure_pattern(
    client: stripe.StripeClient, emulator: StripeEmulator, requests: int = 40
) -> list[bool]:
    failed = []
    for _ in range(requests):
        emulator.advance(0.1)  # ten a second: under Stripe's sandbox rate limits
        try:
            client.v1.payment_intents.list(params={"limit": 1})
            failed.append(False)
        except stripe.APIError:
            failed.append(True)
    return failed


def test_probability_faults_are_reproducible_from_the_seed(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    rule = FaultRule(kind="server_error_before", probability=0.3)
    # GIVEN a run with seed 7
    emulator.reset(seed=7)
    emulator.add_fault(rule)
    first = _failure_pattern(client, emulator)
    # WHEN the same requests are made after a reset to the same seed, and to another
    emulator.reset(seed=7)
    emulator.add_fault(rule)
    again = _failure_pattern(client, emulator)
    emulator.reset(seed=8)
    emulator.add_fault(rule)
    other = _failure_pattern(client, emulator)
    # THEN the same requests fail with the same seed, others with another
    assert again == first
    assert other != first
    assert 0 < sum(first) < len(first)


def test_probability_with_count_stops_after_count(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    emulator.add_fault({"kind": "server_error_before", "probability": 1.0, "count": 3})
    assert sum(_failure_pattern(client, emulator, 10)) == 3


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "meteor"},
        {"kind": "rate_limit", "count": 0},
        {"kind": "rate_limit", "probability": 1.5},
        {"kind": "server_error_before", "status": 404},
        {"kind": "hang", "then": "explode"},
        {"kind": "latency", "ms": -1},
        {"kind": "rate_limit", "match": {"colour": "red"}},
        {"kind": "rate_limit", "match": {"endpoint": "refund"}},
        {"kind": "rate_limit", "count": "3"},
        {"kind": "rate_limit", "extra": 1},
    ],
)
def test_malformed_rules_are_refused(emulator: StripeEmulator, rule: dict[str, object]):
    with pytest.raises(ValueError):  # noqa: PT011 - each message differs; the type is the contract
        emulator.add_fault(rule)
    assert emulator.faults() == []
