"""Test payment methods and customers: what confirming a PaymentIntent with each one does.

The payment method IDs are Stripe's own test IDs (docs.stripe.com/testing); the customer
prefixes are this emulator's convention, because Stripe has no magic customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Charged when a customer is given without a payment method and has no magic prefix.
DEFAULT_PAYMENT_METHOD = "pm_card_visa"


@dataclass(frozen=True)
class CardOutcome:
    """What the issuer says when a payment method is charged."""

    result: Literal["succeeded", "declined", "authentication_required"]
    code: str | None = None
    decline_code: str | None = None
    message: str = ""


SUCCEEDS = CardOutcome("succeeded")
GENERIC_DECLINE = CardOutcome(
    "declined", "card_declined", "generic_decline", "Your card was declined."
)
NEEDS_AUTHENTICATION = CardOutcome(
    "authentication_required",
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)

#: Stripe test payment methods that do not simply succeed.
PAYMENT_METHODS: dict[str, CardOutcome] = {
    "pm_card_chargeDeclined": GENERIC_DECLINE,
    "pm_card_chargeDeclinedInsufficientFunds": CardOutcome(
        "declined", "card_declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    "pm_card_chargeDeclinedLostCard": CardOutcome(
        "declined", "card_declined", "lost_card", "Your card was declined."
    ),
    "pm_card_chargeDeclinedStolenCard": CardOutcome(
        "declined", "card_declined", "stolen_card", "Your card was declined."
    ),
    "pm_card_chargeDeclinedFraudulent": CardOutcome(
        "declined", "card_declined", "fraudulent", "Your card was declined."
    ),
    "pm_card_chargeDeclinedExpiredCard": CardOutcome(
        "declined", "expired_card", "expired_card", "Your card has expired."
    ),
    "pm_card_chargeDeclinedIncorrectCvc": CardOutcome(
        "declined", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
    ),
    "pm_card_chargeDeclinedProcessingError": CardOutcome(
        "declined",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "pm_card_authenticationRequired": NEEDS_AUTHENTICATION,
}

#: Customer ID prefixes and the payment method each one has on file.
CUSTOMER_DEFAULTS: dict[str, str] = {
    "cus_decline": "pm_card_chargeDeclined",
    "cus_auth": "pm_card_authenticationRequired",
}

#: Customers whose ID starts with this do not exist (400 ``resource_missing``).
MISSING_CUSTOMER_PREFIX = "cus_missing"


def customer_exists(customer: str) -> bool:
    """Every customer exists except the ``cus_missing...`` ones."""
    return not customer.startswith(MISSING_CUSTOMER_PREFIX)


def payment_method_exists(payment_method: str) -> bool:
    """Any ``pm_...`` ID is a card on file; anything else is unknown to Stripe."""
    return payment_method.startswith("pm_") and len(payment_method) > 3


def default_payment_method(customer: str) -> str:
    """The payment method charged when a request names a customer but no payment method."""
    for prefix, payment_method in CUSTOMER_DEFAULTS.items():
        if customer.startswith(prefix):
            return payment_method
    return DEFAULT_PAYMENT_METHOD


def outcome(payment_method: str) -> CardOutcome:
    """What charging ``payment_method`` does; any unlisted ``pm_`` ID succeeds."""
    return PAYMENT_METHODS.get(payment_method, SUCCEEDS)
