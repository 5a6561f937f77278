"""Test payment methods and customers: declines, authentication, unknown customers."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator import StripeEmulator
from tests.emulator.scenarios import create


@pytest.mark.parametrize(
    ("payment_method", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_authenticationRequired", "authentication_required", "authentication_required"),
    ],
)
def test_declining_payment_method_raises_card_error_and_creates_the_intent(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    payment_method: str,
    code: str,
    decline_code: str,
):
    # GIVEN a card the issuer refuses
    # WHEN it is charged off-session
    with pytest.raises(stripe.CardError) as raised:
        create(client, "order-1", payment_method=payment_method)
    # THEN the SDK raises CardError with Stripe's codes
    error = raised.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error is not None
    assert error.error.decline_code == decline_code
    # AND the PaymentIntent exists, waiting for another payment method, carried in the error
    intent = error.error.payment_intent
    assert intent is not None
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert intent.last_payment_error.code == code
    assert intent.metadata["request_id"] == "order-1"
    stored = client.v1.payment_intents.retrieve(intent.id)
    assert stored.status == "requires_payment_method"
    entry = emulator.ledger()["by_request_id"]["order-1"]
    assert (entry["created"], entry["succeeded"], entry["declined"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("customer", "code"),
    [("cus_decline_42", "card_declined"), ("cus_auth_42", "authentication_required")],
)
def test_customer_default_payment_method_declines_by_prefix(
    client: stripe.StripeClient, customer: str, code: str
):
    with pytest.raises(stripe.CardError) as raised:
        create(client, "order-2", customer=customer, payment_method=None)
    assert raised.value.code == code
    assert raised.value.error is not None
    assert raised.value.error.payment_intent is not None
    assert raised.value.error.payment_intent.status == "requires_payment_method"


def test_other_customers_are_charged_with_pm_card_visa(client: stripe.StripeClient):
    intent = create(client, "order-3", customer="cus_anyone", payment_method=None)
    assert intent.status == "succeeded"
    assert intent.payment_method == "pm_card_visa"


def test_any_unlisted_test_payment_method_succeeds(client: stripe.StripeClient):
    assert create(client, "order-4", payment_method="pm_card_mastercard").status == "succeeded"


def test_missing_customer_is_400_resource_missing_and_creates_nothing(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "order-5", customer="cus_missing_7", payment_method=None)
    assert raised.value.http_status == 400
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "customer"
    assert emulator.ledger()["payment_intents"] == 0


def test_payment_method_that_is_not_a_pm_id_is_resource_missing(client: stripe.StripeClient):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "order-6", payment_method="card_123")
    assert (raised.value.code, raised.value.param) == ("resource_missing", "payment_method")


def test_authentication_on_session_asks_for_action_instead_of_declining(
    client: stripe.StripeClient,
):
    # GIVEN a 3D Secure card and the customer present (not off-session)
    intent = create(
        client, "order-7", payment_method="pm_card_authenticationRequired", off_session=False
    )
    # THEN Stripe asks the customer to authenticate
    assert intent.status == "requires_action"
    assert intent.next_action is not None
