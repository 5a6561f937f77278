"""Customers and payment methods through the real SDK: what a PaymentIntent may charge.

Sources: Stripe API reference, PaymentIntent ``payment_method`` ("If you don't provide the
payment_method parameter or the source parameter with confirm=true, source automatically
populates with customer.default_source"; "If the payment method is attached to a
Customer, you must also provide the ID of that Customer"),
https://docs.stripe.com/api/payment_intents/create#create_payment_intent-payment_method;
https://docs.stripe.com/api/payment_methods/attach; https://docs.stripe.com/testing
("By default, a PaymentMethod isn't attached to a Customer"); stripe-node #1081 (no
default PaymentMethod for PaymentIntents); the ``payment_intent_unexpected_state`` message
as Stripe sends it (woocommerce-payments #487).
"""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import TestCustomer, create_customer
from tests.emulator.conftest import API_KEY
from tests.emulator.scenarios import create


def test_attaching_a_test_payment_method_yields_a_new_one_owned_by_the_customer(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """https://docs.stripe.com/api/payment_methods/attach; https://docs.stripe.com/testing"""
    # GIVEN a customer made through the API
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    # WHEN the test ID pm_card_visa is attached to it
    attached = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    # THEN a new PaymentMethod exists, owned by that customer, readable by its ID
    assert attached.id.startswith("pm_") and attached.id != "pm_card_visa"
    assert attached.customer == customer.id
    assert attached.card is not None and attached.card.last4 == "4242"
    assert client.v1.payment_methods.retrieve(attached.id).customer == customer.id
    assert client.v1.customers.retrieve(customer.id).email == "ada@example.com"


def test_invoice_default_must_be_attached_to_the_customer(client: stripe.StripeClient):
    """https://docs.stripe.com/api/customers/update#update_customer-invoice_settings"""
    other = create_customer_via(client)
    customer = client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.update(
            customer.id,
            params={"invoice_settings": {"default_payment_method": str(other.payment_method)}},
        )
    assert raised.value.http_status == 400


def test_a_payment_method_attached_to_another_customer_cannot_be_attached_again(
    client: stripe.StripeClient, saved_customer: TestCustomer
):
    """https://docs.stripe.com/api/payment_methods/attach: one customer per PaymentMethod."""
    stranger = client.v1.customers.create()
    assert saved_customer.payment_method is not None
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_methods.attach(
            saved_customer.payment_method, params={"customer": stranger.id}
        )
    assert (raised.value.http_status, raised.value.param) == (400, "payment_method")


@pytest.mark.parametrize("customer", ["stranger", None])
def test_a_payment_method_of_another_customer_is_refused_for_a_payment_intent(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    saved_customer: TestCustomer,
    customer: str | None,
):
    """API reference, PaymentIntent payment_method: an attached PaymentMethod needs its own
    customer in ``customer`` (stripe-sdk #49 shows the message)."""
    named = client.v1.customers.create().id if customer else None
    params = {"customer": named} if named else {"customer": None, "off_session": None}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "foreign-1", **params)
    assert (raised.value.http_status, raised.value.param) == (400, "payment_method")
    assert emulator.ledger()["payment_intents"] == 0


def test_unknown_payment_method_is_400_resource_missing(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """https://docs.stripe.com/error-codes#resource-missing"""
    for unknown in ("pm_does_not_exist", "pm_card_chargeDeclined", "card_123"):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            create(client, f"unknown-{unknown}", payment_method=unknown)
        assert (raised.value.http_status, raised.value.code) == (400, "resource_missing")
        assert raised.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError) as retrieved:
        client.v1.payment_methods.retrieve("pm_does_not_exist")
    assert retrieved.value.code == "resource_missing"
    assert emulator.ledger()["payment_intents"] == 0


def test_unknown_customer_is_resource_missing(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """https://docs.stripe.com/error-codes#resource-missing"""
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "who", customer="cus_nobody", payment_method="pm_card_visa")
    assert (raised.value.http_status, raised.value.code) == (400, "resource_missing")
    assert raised.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as attach:
        client.v1.payment_methods.attach("pm_card_visa", params={"customer": "cus_nobody"})
    assert attach.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as retrieved:
        client.v1.customers.retrieve("cus_nobody")
    assert (retrieved.value.http_status, retrieved.value.code) == (404, "resource_missing")
    assert emulator.ledger()["payment_intents"] == 0


def test_without_payment_method_the_invoice_default_is_not_charged(
    client: stripe.StripeClient, emulator: StripeEmulator, saved_customer: TestCustomer
):
    """A customer saved with PaymentMethods only: Stripe falls back to default_source only,
    so confirming fails with 400 payment_intent_unexpected_state (API reference,
    PaymentIntent payment_method; stripe-node #1081)."""
    # GIVEN a customer whose card is its invoice_settings.default_payment_method
    assert client.v1.customers.retrieve(saved_customer.id).invoice_settings is not None
    # WHEN an off-session charge names the customer but no payment method
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "no-pm-1", payment_method=None)
    # THEN Stripe refuses it: nothing was charged
    assert raised.value.http_status == 400
    assert raised.value.code == "payment_intent_unexpected_state"
    assert emulator.ledger()["payment_intents"] == 0


def test_without_payment_method_the_default_source_is_charged(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """The legacy fallback: ``source`` populates with customer.default_source (API
    reference, PaymentIntent payment_method)."""
    # GIVEN a customer saved with a legacy card source (tok_visa)
    legacy = create_customer(emulator.url, API_KEY, payment_method=None, source="tok_visa")
    assert legacy.default_source is not None and legacy.default_source.startswith("card_")
    # WHEN it is charged without a payment method
    intent = create(client, "legacy-1", customer=legacy.id, payment_method=None)
    # THEN its default source pays
    assert intent.status == "succeeded"
    assert intent.source == legacy.default_source


def test_a_test_id_used_directly_becomes_a_new_payment_method_used_once(
    client: stripe.StripeClient, emulator: StripeEmulator
):
    """https://docs.stripe.com/testing ("Test code": use pm_card_visa; "By default, a
    PaymentMethod isn't attached to a Customer"); the reuse refusal is Stripe's message for
    a PaymentMethod "previously used with a PaymentIntent without Customer attachment"
    (liberapay #2686). Used with a customer it is allowed: the emulator's judgement, see
    docs/fidelity.md."""
    # GIVEN the test ID pm_card_visa charged directly
    intent = create(client, "direct-1", payment_method="pm_card_visa")
    # THEN a new, unattached PaymentMethod paid
    assert intent.status == "succeeded"
    assert intent.payment_method != "pm_card_visa"
    resolved = client.v1.payment_methods.retrieve(str(intent.payment_method))
    assert resolved.customer is None
    # AND it cannot be used again, while the test ID itself can
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, "direct-2", payment_method=str(intent.payment_method))
    assert (raised.value.http_status, raised.value.param) == (400, "payment_method")
    assert create(client, "direct-3", payment_method="pm_card_visa").status == "succeeded"


def test_a_customer_with_a_declining_token_is_not_created(client: stripe.StripeClient):
    """https://docs.stripe.com/testing#declined-payments: these cards "can't be attached to
    a Customer object"."""
    with pytest.raises(stripe.CardError) as raised:
        client.v1.customers.create(params={"source": "tok_visa_chargeDeclined"})
    assert (raised.value.http_status, raised.value.code) == (402, "card_declined")


def create_customer_via(client: stripe.StripeClient) -> TestCustomer:
    """A customer with pm_card_visa attached as its invoice default, made with the SDK."""
    customer = client.v1.customers.create()
    attached = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": attached.id}}
    )
    return TestCustomer(customer.id, attached.id, None)


def test_a_customer_created_with_a_bank_test_token_owns_a_new_bank_payment_method(
    client: stripe.StripeClient, saved_customer: TestCustomer
):
    """https://docs.stripe.com/api/customers/create#create_customer-payment_method (attached
    on create); bank test tokens as in docs.stripe.com/payments/ach-direct-debit/
    accept-a-payment. A create refused for its invoice default attaches nothing."""
    # WHEN a customer is created with an ACH test token as its payment method and default
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_usBankAccount_success",
            "invoice_settings": {"default_payment_method": "pm_usBankAccount_success"},
        }
    )
    # THEN the token became a new us_bank_account PaymentMethod owned by it, its default
    assert customer.invoice_settings is not None
    default = customer.invoice_settings.default_payment_method
    assert isinstance(default, str) and default != "pm_usBankAccount_success"
    attached = client.v1.payment_methods.retrieve(default)
    assert (attached.type, attached.customer) == ("us_bank_account", customer.id)
    # AND a create whose invoice default is not the PaymentMethod it attaches is refused,
    # leaving that PaymentMethod unattached
    loose = client.v1.payment_methods.retrieve("pm_usBankAccount_success")
    assert loose.customer is None
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(
            params={
                "payment_method": loose.id,
                "invoice_settings": {"default_payment_method": str(saved_customer.payment_method)},
            }
        )
    assert caught.value.param == "invoice_settings[default_payment_method]"
    assert client.v1.payment_methods.retrieve(loose.id).customer is None
