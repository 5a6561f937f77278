"""The control API over HTTP, through ``EmulatorControl`` (as another process uses it)."""

from __future__ import annotations

import pytest
import requests
import stripe

from stripe_emulator import EmulatorControl, EmulatorControlError, FaultRule, StripeEmulator
from tests.emulator.scenarios import create


@pytest.fixture
def control(emulator: StripeEmulator) -> EmulatorControl:
    return EmulatorControl(emulator.url)


def test_ledger_over_http_matches_the_in_process_one(
    control: EmulatorControl, client: stripe.StripeClient, emulator: StripeEmulator
):
    create(client, "order-1")
    ledger = control.ledger()
    assert ledger == emulator.ledger()
    assert ledger["by_request_id"]["order-1"]["succeeded"] == 1
    assert control.payment_intents()[0]["metadata"] == {"request_id": "order-1"}


def test_faults_are_programmed_listed_and_removed_over_http(
    control: EmulatorControl, client: stripe.StripeClient
):
    # GIVEN two rules added over HTTP, one as a dict and one as a FaultRule
    first = control.add_fault({"kind": "server_error_before", "count": 1})
    second = control.add_fault(FaultRule(kind="rate_limit", count=1))
    assert [rule["id"] for rule in control.faults()] == [first, second]
    # WHEN the first one is removed
    assert control.remove_fault(first) is True
    assert control.remove_fault(first) is False
    # THEN only the second acts
    with pytest.raises(stripe.RateLimitError):
        create(client, "order-2")
    assert control.faults()[0]["injected"] == 1
    control.clear_faults()
    assert control.faults() == []


def test_malformed_rule_over_http_is_a_400_with_the_reason(control: EmulatorControl):
    with pytest.raises(EmulatorControlError) as raised:
        control.add_fault({"kind": "meteor"})
    assert raised.value.status == 400
    assert "unknown fault kind" in str(raised.value)


def test_clock_advances_over_http(control: EmulatorControl, emulator: StripeEmulator):
    start = control.now()
    assert control.advance(90_000) == start + 90_000
    assert emulator.now() == start + 90_000


def test_reset_over_http_forgets_everything(
    control: EmulatorControl, client: stripe.StripeClient, emulator: StripeEmulator
):
    create(client, "order-3")
    control.add_fault({"kind": "rate_limit"})
    control.advance(60)
    start = emulator.now()
    control.reset()
    assert control.ledger()["payment_intents"] == 0
    assert control.faults() == []
    assert control.now() == start - 60


def test_latency_and_rate_limit_are_set_over_http(
    control: EmulatorControl, client: stripe.StripeClient
):
    control.set_rate_limits({"global_per_second": 1, "endpoint_per_second": 1})
    client.v1.payment_intents.list()
    with pytest.raises(stripe.RateLimitError):
        client.v1.payment_intents.list()
    control.set_rate_limits("off")
    control.set_latency(10, jitter_ms=5)
    client.v1.payment_intents.list()
    assert control.ledger()["requests"]["rate_limited"] == 1


def test_health_and_unknown_control_endpoint(control: EmulatorControl, emulator: StripeEmulator):
    assert control.health() is True
    assert EmulatorControl("http://127.0.0.1:9").health() is False
    response = requests.get(f"{emulator.url}/_emulator/nothing", timeout=5)
    assert response.status_code == 404


def test_control_refuses_bad_bodies(emulator: StripeEmulator):
    url = f"{emulator.url}/_emulator/clock/advance"
    assert requests.post(url, data="not json", timeout=5).status_code == 400
    assert requests.post(url, json={}, timeout=5).status_code == 400
    assert requests.post(url, json={"seconds": -5}, timeout=5).status_code == 400
