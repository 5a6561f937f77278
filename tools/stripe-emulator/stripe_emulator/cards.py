"""Stripe's test cards: what each test PaymentMethod ID and test token is, and what charging it
does. Source: docs.stripe.com/testing ("Cards by brand", "Declined payments",
"Authentication and setup" for 3D Secure).

Only the IDs on that page exist: any other ``pm_card_...`` is an unknown PaymentMethod
(400 ``resource_missing``), as a mistyped test ID is on Stripe. The declining cards of the
"Declined payments" table "can't be attached to a Customer object" (same page): attaching
one fails with its decline. ``pm_card_chargeCustomerFail`` attaches, then every charge
fails. Values marked UNCONFIRMED below are not on the page; the emulator's choice is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class CardOutcome:
    """What the issuer says when the card is charged."""

    result: Literal["succeeded", "declined", "authentication_required"]
    code: str | None = None
    decline_code: str | None = None
    message: str = ""


SUCCEEDS = CardOutcome("succeeded")


def _declined(code: str, decline_code: str | None, message: str) -> CardOutcome:
    return CardOutcome("declined", code, decline_code, message)


_GENERIC = "Your card was declined."


@dataclass(frozen=True)
class TestCard:
    """A card behind a test ID: its details, how a charge ends, whether it can be saved."""

    __test__ = False  # a fixture, not a pytest test class

    brand: str
    last4: str
    funding: str = "credit"
    outcome: CardOutcome = field(default=SUCCEEDS)
    #: False for the "Declined payments" cards: attaching them to a customer fails.
    attachable: bool = True


_CHARGE_CUSTOMER_FAIL = TestCard(
    "visa",
    "0341",
    # UNCONFIRMED: the page says only that charges fail; generic_decline is assumed.
    outcome=_declined("card_declined", "generic_decline", _GENERIC),
)

#: Test PaymentMethod IDs (the ``pm_card_...`` columns of the testing page).
PAYMENT_METHODS: dict[str, TestCard] = {
    # Cards by brand: charges succeed.
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_visa_debit": TestCard("visa", "5556", "debit"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_mastercard_debit": TestCard("mastercard", "8210", "debit"),
    "pm_card_mastercard_prepaid": TestCard("mastercard", "5100", "prepaid"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_discover": TestCard("discover", "1117"),
    "pm_card_diners": TestCard("diners", "0004"),
    "pm_card_jcb": TestCard("jcb", "0505"),
    "pm_card_unionpay": TestCard("unionpay", "0005"),
    # Declined payments (error code and decline code from the page's table; the messages
    # are Stripe's as seen in its responses; lost/stolen ones are UNCONFIRMED).
    "pm_card_visa_chargeDeclined": TestCard(
        "visa", "0002", outcome=_declined("card_declined", "generic_decline", _GENERIC),
        attachable=False,
    ),
    "pm_card_visa_chargeDeclinedInsufficientFunds": TestCard(
        "visa", "9995",
        outcome=_declined(
            "card_declined", "insufficient_funds", "Your card has insufficient funds."
        ),
        attachable=False,
    ),
    "pm_card_visa_chargeDeclinedLostCard": TestCard(
        "visa", "9987", outcome=_declined("card_declined", "lost_card", _GENERIC),
        attachable=False,
    ),
    "pm_card_visa_chargeDeclinedStolenCard": TestCard(
        "visa", "9979", outcome=_declined("card_declined", "stolen_card", _GENERIC),
        attachable=False,
    ),
    # "n/a" decline code on the page: the error carries none.
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "visa", "0069", outcome=_declined("expired_card", None, "Your card has expired."),
        attachable=False,
    ),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard(
        "visa", "0127",
        outcome=_declined("incorrect_cvc", None, "Your card's security code is incorrect."),
        attachable=False,
    ),
    # A soft decline: Stripe's decline-code table says to try again later.
    "pm_card_chargeDeclinedProcessingError": TestCard(
        "visa", "0119",
        outcome=_declined(
            "processing_error",
            None,
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        attachable=False,
    ),
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded": TestCard(
        "visa", "6975",
        outcome=_declined(
            "card_declined",
            "card_velocity_exceeded",
            "Your card was declined for making repeated attempts too frequently or "
            "exceeding its amount limit.",
        ),
        attachable=False,
    ),
    "pm_card_chargeCustomerFail": _CHARGE_CUSTOMER_FAIL,
    # 3D Secure "always authenticate": off-session it is declined with
    # authentication_required (docs.stripe.com/payments/save-and-reuse, off-session errors);
    # on-session the PaymentIntent asks for action.
    "pm_card_authenticationRequired": TestCard(
        "visa", "3184",
        outcome=CardOutcome(
            "authentication_required",
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
    ),
}  # fmt: skip

#: Test tokens for a customer's legacy ``source`` (the ``tok_...`` columns of the page).
TOKENS: dict[str, TestCard] = {
    "tok_visa": PAYMENT_METHODS["pm_card_visa"],
    "tok_visa_debit": PAYMENT_METHODS["pm_card_visa_debit"],
    "tok_mastercard": PAYMENT_METHODS["pm_card_mastercard"],
    "tok_amex": PAYMENT_METHODS["pm_card_amex"],
    "tok_visa_chargeDeclined": PAYMENT_METHODS["pm_card_visa_chargeDeclined"],
    "tok_visa_chargeDeclinedInsufficientFunds": PAYMENT_METHODS[
        "pm_card_visa_chargeDeclinedInsufficientFunds"
    ],
    "tok_chargeDeclinedProcessingError": PAYMENT_METHODS["pm_card_chargeDeclinedProcessingError"],
    "tok_chargeCustomerFail": _CHARGE_CUSTOMER_FAIL,
    "tok_visa_chargeCustomerFail": _CHARGE_CUSTOMER_FAIL,
    "tok_visa_chargeCustomerFailLostCard": TestCard(
        "visa", "0341", outcome=_declined("card_declined", "lost_card", _GENERIC),
    ),
    "tok_visa_chargeCustomerFailStolenCard": TestCard(
        "visa", "0341", outcome=_declined("card_declined", "stolen_card", _GENERIC),
    ),
}  # fmt: skip
