"""Emulator fixtures: one emulator per session on a stopped clock, reset before each test,
a customer with a saved card made through the API, and the real ``stripe`` SDK pointed at
it over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import stripe

from stripe_emulator import ManualClock, StripeEmulator
from stripe_emulator.fixtures import TestCustomer, create_customer
from tests.emulator import scenarios

API_KEY = "sk_test_emulator_tests"
OTHER_API_KEY = "sk_test_other_account"

ClientFactory = Callable[..., stripe.StripeClient]


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[StripeEmulator]:
    with StripeEmulator(API_KEY, clock=ManualClock(), extra_api_keys=[OTHER_API_KEY]) as running:
        yield running


@pytest.fixture
def emulator(running_emulator: StripeEmulator) -> StripeEmulator:
    """The session's emulator, as good as new: no intents, keys, faults; clock at start."""
    running_emulator.reset()
    return running_emulator


@pytest.fixture(autouse=True)
def saved_customer(emulator: StripeEmulator) -> Iterator[TestCustomer]:
    """A customer with ``pm_card_visa`` attached as its invoice default; the charges of
    ``scenarios`` name it unless told otherwise."""
    customer = create_customer(emulator.url, API_KEY, payment_method="pm_card_visa")
    assert customer.payment_method is not None
    scenarios.CURRENT.update(customer=customer.id, payment_method=customer.payment_method)
    yield customer
    scenarios.CURRENT.clear()


@pytest.fixture
def make_client(emulator: StripeEmulator) -> ClientFactory:
    """A ``StripeClient`` for the emulator; no SDK retries unless asked for."""

    def build(
        *, api_key: str = API_KEY, max_network_retries: int = 0, timeout: float = 10.0
    ) -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": emulator.url},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> stripe.StripeClient:
    return make_client()
