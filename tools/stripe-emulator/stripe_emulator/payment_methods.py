"""PaymentMethod and Card objects, shaped as the pinned ``stripe`` SDK declares them
(``stripe.PaymentMethod``, ``stripe.Card``; a test compares the keys).

Sources: Stripe API reference, "The PaymentMethod object" and "The Card object"; a
PaymentMethod carries only the hash of its own type (here ``card``).
"""

from __future__ import annotations

from typing import Any

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
        "card": {
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
        "created": created,
        "customer": customer,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "radar_options": {},
        "type": "card",
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
