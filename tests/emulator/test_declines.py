"""The decline catalogue: every test PaymentMethod of Stripe's "Declined payments" table,
charged off-session through the real SDK, with its error code and decline code.

Source: https://docs.stripe.com/testing#declined-payments (the PaymentMethod table; "n/a"
decline codes are absent from the error), and for 3D Secure off-session
https://docs.stripe.com/payments/save-and-reuse (authentication_required). The table is
copied here on purpose: the test states the page, independently of the emulator's table.
"""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import create_customer
from tests.emulator.conftest import API_KEY
from tests.emulator.scenarios import create

DECLINED_PAYMENTS = [
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
    ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
    ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
    ("pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None),
    ("pm_card_chargeDeclinedProcessingError", "processing_error", None),
    ("pm_card_visa_chargeDeclinedVelocityLimitExceeded", "card_declined", "card_velocity_exceeded"),
]


@pytest.mark.parametrize(("payment_method", "code", "decline_code"), DECLINED_PAYMENTS)
def test_each_declining_test_card_raises_its_codes_and_leaves_the_intent(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    payment_method: str,
    code: str,
    decline_code: str | None,
):
    # GIVEN a card the issuer refuses, used directly (these cannot be attached)
    # WHEN it is charged off-session
    with pytest.raises(stripe.CardError) as raised:
        create(client, "order-1", payment_method=payment_method)
    # THEN the SDK raises CardError with the page's codes
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
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    entry = emulator.ledger()["by_request_id"]["order-1"]
    assert (entry["created"], entry["succeeded"], entry["declined"]) == (1, 0, 1)


@pytest.mark.parametrize(("payment_method", "code", "decline_code"), DECLINED_PAYMENTS)
def test_declining_test_cards_cannot_be_attached(
    client: stripe.StripeClient, payment_method: str, code: str, decline_code: str | None
):
    """Same page: "The cards in the previous table can't be attached to a Customer object."""
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_methods.attach(payment_method, params={"customer": customer.id})
    assert raised.value.code == code


def test_a_card_that_declines_after_attaching_is_saved_then_declined(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """Same page: pm_card_chargeCustomerFail "Attaching this card to a Customer object
    succeeds, but attempts to charge the customer fail". Its decline code is not on the page
    (the emulator sends generic_decline)."""
    customer = create_customer(emulator.url, API_KEY, payment_method="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as raised:
        create(client, "fail-1", customer=customer.id, payment_method=customer.payment_method)
    assert raised.value.code == "card_declined"


def test_authentication_required_off_session_is_a_decline(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """A saved 3D Secure card charged off-session: 402 authentication_required, the
    PaymentIntent back in requires_payment_method (docs.stripe.com/payments/save-and-reuse)."""
    customer = create_customer(
        emulator.url, API_KEY, payment_method="pm_card_authenticationRequired"
    )
    with pytest.raises(stripe.CardError) as raised:
        create(client, "sca-1", customer=customer.id, payment_method=customer.payment_method)
    assert raised.value.code == "authentication_required"
    assert raised.value.error is not None and raised.value.error.payment_intent is not None
    assert raised.value.error.payment_intent.status == "requires_payment_method"


def test_authentication_on_session_asks_for_action_instead_of_declining(
    client: stripe.StripeClient,
):
    """On-session the customer can authenticate: status requires_action
    (https://docs.stripe.com/testing#regulatory-cards)."""
    intent = create(
        client, "order-7", payment_method="pm_card_authenticationRequired", off_session=False
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None
