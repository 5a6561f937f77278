"""A customer with a card on file, made through the Stripe API as a test-mode fixture would.

Stripe's flow (docs.stripe.com/api/customers/create, /api/payment_methods/attach,
/api/customers/update): create a customer, attach a test PaymentMethod (``pm_card_visa``
attaches as a new ``pm_...`` owned by the customer), and make it the customer's
``invoice_settings.default_payment_method``.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

#: Stripe's test PaymentMethod that always succeeds.
TEST_CARD = "pm_card_visa"

#: Used when the emulator answers the customer endpoints with 404: that emulator charges any
#: ``cus_...`` customer with ``pm_card_visa`` on file.
CONVENTION_CUSTOMER = "cus_local"


@dataclass(frozen=True)
class FixtureCustomer:
    """A customer and the payment method to charge it with."""

    customer: str
    payment_method: str


def create_customer(stripe_url: str, api_key: str) -> FixtureCustomer:
    """Create a ready-to-charge customer at ``stripe_url`` with the real Stripe SDK."""
    client = stripe.StripeClient(api_key, base_addresses={"api": stripe_url}, max_network_retries=2)
    try:
        customer = client.v1.customers.create(
            params={"description": "chargeq local: ready-to-charge customer"}
        )
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        return FixtureCustomer(CONVENTION_CUSTOMER, TEST_CARD)
    card = client.v1.payment_methods.attach(TEST_CARD, params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    return FixtureCustomer(customer.id, card.id)
