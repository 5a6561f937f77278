"""``Stripe-Version``: a known version is answered in, an unknown one is a 400.

Source: https://docs.stripe.com/api/versioning (the ``Stripe-Version`` header); the 400
"Invalid Stripe API version: ..." as Stripe sends it (stripe-java #682, pay-rails #680).
"""

from __future__ import annotations

import pytest
import stripe

from charges.payments import STRIPE_API_VERSION
from stripe_emulator import StripeEmulator
from stripe_emulator.versions import DEFAULT_API_VERSION, KNOWN_API_VERSIONS
from tests.emulator.conftest import API_KEY
from tests.emulator.scenarios import create


def test_the_sdk_default_and_the_pipeline_pin_are_known_versions():
    # The SDK sends its own version unless told otherwise (stripe._api_version).
    assert stripe.StripeClient(API_KEY)._requestor._options.stripe_version in KNOWN_API_VERSIONS
    assert STRIPE_API_VERSION in KNOWN_API_VERSIONS


def test_a_known_version_is_answered_in(emulator: StripeEmulator):
    client = stripe.StripeClient(
        API_KEY, base_addresses={"api": emulator.url}, stripe_version="2025-03-31.basil"
    )
    intent = create(client, "v-1")
    assert intent.last_response is not None
    assert intent.last_response.headers["Stripe-Version"] == "2025-03-31.basil"


@pytest.mark.parametrize("version", ["2019-2-19", "2025-09-30.acacia", "2099-01-01.zucchini"])
def test_an_unknown_version_is_400_and_charges_nothing(emulator: StripeEmulator, version: str):
    client = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": emulator.url},
        stripe_version=version,
        max_network_retries=0,
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "v-2")
    assert raised.value.http_status == 400
    assert str(raised.value.user_message) == f"Invalid Stripe API version: {version}"
    assert raised.value.headers is not None
    assert raised.value.headers["Stripe-Version"] == DEFAULT_API_VERSION
    assert emulator.ledger()["payment_intents"] == 0
    assert emulator.ledger()["requests"]["invalid_version"] == 1
