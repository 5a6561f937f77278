"""Amounts and currencies: minimum and maximum charge amounts, zero-decimal currencies,
currencies Stripe refuses.

Source: https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (the
minimum table, eight digits at most, ten for JPY card charges) and
https://docs.stripe.com/currencies#zero-decimal; the refusal of an unsupported currency as
Stripe words it ("Invalid currency: zzz. Stripe currently supports these currencies: ...",
on ``currency``, no code: stripe-perl #156).
"""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator import StripeEmulator
from tests.emulator.scenarios import create


@pytest.mark.parametrize(
    ("currency", "minimum"),
    [("usd", 50), ("eur", 50), ("gbp", 30), ("jpy", 50), ("mxn", 1000), ("huf", 17500)],
)
def test_the_minimum_charge_amount_is_accepted_and_one_less_is_amount_too_small(
    client: stripe.StripeClient, emulator: StripeEmulator, currency: str, minimum: int
):
    # GIVEN the currency's minimum (JPY is zero-decimal: 50 means ¥50)
    assert create(client, f"min-{currency}", amount=minimum, currency=currency).amount == minimum
    # WHEN one minor unit less is asked for
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, f"below-{currency}", amount=minimum - 1, currency=currency)
    # THEN Stripe refuses it before anything is created
    assert (raised.value.http_status, raised.value.code) == (400, "amount_too_small")
    assert raised.value.param == "amount"
    assert emulator.ledger()["payment_intents"] == 1


@pytest.mark.parametrize(
    ("currency", "maximum"), [("usd", 99_999_999), ("inr", 999_999_999), ("jpy", 9_999_999_999)]
)
def test_above_the_maximum_is_amount_too_large(
    client: stripe.StripeClient, currency: str, maximum: int
):
    assert create(client, f"max-{currency}", amount=maximum, currency=currency).amount == maximum
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, f"over-{currency}", amount=maximum + 1, currency=currency)
    assert (raised.value.http_status, raised.value.code) == (400, "amount_too_large")


@pytest.mark.parametrize("currency", ["xyz", "tnd", "dollars"])
def test_a_currency_stripe_does_not_support_is_refused(
    client: stripe.StripeClient, emulator: StripeEmulator, currency: str
):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "odd-currency", currency=currency)
    assert raised.value.http_status == 400
    assert raised.value.param == "currency"
    assert raised.value.error is not None and raised.value.error.type == "invalid_request_error"
    assert "Invalid currency" in str(raised.value.user_message)
    assert emulator.ledger()["payment_intents"] == 0


def test_currency_is_taken_in_any_case_and_returned_lowercase(client: stripe.StripeClient):
    assert create(client, "upper", currency="EUR").currency == "eur"
