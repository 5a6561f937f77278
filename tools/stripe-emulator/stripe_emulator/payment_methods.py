"""PaymentMethod and Card objects, shaped as the pinned ``stripe`` SDK declares them
(``stripe.PaymentMethod``, ``stripe.Card``; a test compares the keys).

Sources: Stripe API reference, "The PaymentMethod object" and "The Card object"; a
PaymentMethod carries only the hash of its own type (``card``, ``us_bank_account`` or
``sepa_debit``).
"""

from __future__ import annotations

from typing import Any

from stripe_emulator.async_payments import BankDebit
from stripe_emulator.cards import TestCard
from stripe_emulator.forms import Params, read_string, reject_unknown

_ATTACH_PARAMS = frozenset({"customer", "expand"})
_RETRIEVE_PARAMS = frozenset({"expand"})
_EXP_MONTH, _EXP_YEAR = 12, 2034  # "a valid future date, such as 12/34" (docs.stripe.com/testing)


def parse_attach(params: Params) -> str:
    """``POST /v1/payment_methods/{id}/attach``: the customer to attach to."""
    reject_unknown(params, _ATTACH_PARAMS)
    customer = read_string(params, "customer", required=True)
    assert customer is not None
    return customer


def parse_retrieve(params: Params) -> None:
    """``GET /v1/payment_methods/{id}`` and ``GET /v1/customers/{id}`` take only ``expand``."""
    reject_unknown(params, _RETRIEVE_PARAMS)


def payment_method_object(
    payment_method_id: str, card: TestCard, *, created: int, customer: str | None
) -> dict[str, Any]:
    """A ``card`` PaymentMethod."""
    return _payment_method(
        payment_method_id,
        "card",
        {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": None,
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": _EXP_MONTH,
            "exp_year": _EXP_YEAR,
            "fingerprint": f"fp{card.brand}{card.last4}",
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        created=created,
        customer=customer,
    )


def bank_debit_payment_method_object(
    payment_method_id: str, test_id: str, debit: BankDebit, *, created: int, customer: str | None
) -> dict[str, Any]:
    """A ``us_bank_account`` or ``sepa_debit`` PaymentMethod made from a bank test token.

    Sources: API reference, "The PaymentMethod object" (``us_bank_account``: account holder
    and type, bank name, routing number, networks, status details; ``sepa_debit``: bank and
    branch codes, country, last4, generated_from). Stripe's test bank is "STRIPE TEST BANK"
    with routing number 110000000 (docs.stripe.com/payments/ach-direct-debit/accept-a-payment,
    test account numbers). UNCONFIRMED: the last4 of each token's account and of each SEPA
    IBAN (the emulator uses 6789 for ACH, the last four of Stripe's German test IBAN, 3000,
    for SEPA) and the fingerprints.
    """
    if debit.type == "us_bank_account":
        details: dict[str, Any] = {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "financial_connections_account": None,
            "fingerprint": f"fp{test_id}",
            "last4": "6789",
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": "110000000",
            "status_details": None,
        }
    else:
        details = {
            "bank_code": "37040044",
            "branch_code": "",
            "country": test_id.rpartition("_")[2].upper(),
            "fingerprint": f"fp{test_id}",
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": "3000",
        }
    return _payment_method(
        payment_method_id, debit.type, details, created=created, customer=customer
    )


def _payment_method(
    payment_method_id: str,
    type_: str,
    details: dict[str, Any],
    *,
    created: int,
    customer: str | None,
) -> dict[str, Any]:
    """The fields every PaymentMethod has, and the hash of its own ``type`` only."""
    return {
        "id": payment_method_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        type_: details,
        "created": created,
        "customer": customer,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "radar_options": {},
        "type": type_,
    }


def card_source_object(card_id: str, card: TestCard, *, customer: str) -> dict[str, Any]:
    """A legacy Card source saved on a customer (``customer.default_source``)."""
    return {
        "id": card_id,
        "object": "card",
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": None,
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": None,
        "allow_redisplay": "unspecified",
        "brand": card.brand.capitalize() if card.brand != "amex" else "American Express",
        "country": "US",
        "customer": customer,
        "cvc_check": None,
        "dynamic_last4": None,
        "exp_month": _EXP_MONTH,
        "exp_year": _EXP_YEAR,
        "fingerprint": f"fp{card.brand}{card.last4}",
        "funding": card.funding,
        "last4": card.last4,
        "metadata": {},
        "name": None,
        "networks": {"preferred": None},
        "regulated_status": "unregulated",
        "tokenization_method": None,
    }
