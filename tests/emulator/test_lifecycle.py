"""Starting and stopping the in-process emulator."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import create_customer
from tests.emulator.conftest import API_KEY, ClientFactory
from tests.emulator.scenarios import create, wait_until


def test_url_is_known_only_while_running():
    emulator = StripeEmulator(API_KEY)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    with emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{emulator.url}/_emulator/health", timeout=5).json() == {"ok": True}
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url


def test_stop_ends_a_hung_request_promptly_and_closes_connections():
    # GIVEN a request hanging for a minute
    emulator = StripeEmulator(API_KEY).start()
    emulator.add_fault({"kind": "hang", "seconds": 60})
    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0
    )
    errors: list[Exception] = []

    def charge() -> None:
        try:
            create(client, "order-1")
        except stripe.APIConnectionError as error:
            errors.append(error)

    worker = threading.Thread(target=charge)
    worker.start()
    wait_until(lambda: emulator.faults()[0]["injected"] == 1)
    # WHEN the emulator stops
    started = time.monotonic()
    emulator.stop()
    worker.join(timeout=5)
    # THEN it stops at once, the client sees a lost connection, and nothing was charged
    assert time.monotonic() - started < 2
    assert len(errors) == 1
    assert emulator.ledger()["payment_intents"] == 0


def test_emulator_can_start_again_after_stopping():
    emulator = StripeEmulator(API_KEY)
    with emulator:
        first_url = emulator.url
    with emulator:
        client = stripe.StripeClient(
            API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0
        )
        customer = create_customer(emulator.url, API_KEY)
        intent = create(
            client, "order-2", customer=customer.id, payment_method=customer.payment_method
        )
        assert intent.status == "succeeded"
    assert first_url.startswith("http://127.0.0.1:")


def test_ledger_counts_connections_so_reuse_can_be_checked(
    emulator: StripeEmulator, make_client: ClientFactory
):
    # GIVEN one SDK client (one keep-alive session) and a second, separate one
    before = emulator.ledger()["connections"]
    reused = make_client()
    separate = make_client()
    # WHEN the first makes three requests and the second one
    for number in range(3):
        create(reused, request_id=f"reuse-{number}")
    create(separate, request_id="separate-0")
    # THEN the emulator accepted two connections for four requests
    ledger = emulator.ledger()
    assert ledger["requests"]["create"] == 4
    assert ledger["connections"] - before == 2
