"""Object shapes: the emulator's objects carry the fields the pinned ``stripe`` SDK declares
for them (the class annotations of ``stripe.PaymentIntent``, ``stripe.Customer``,
``stripe.PaymentMethod``, ``stripe.Card``, ``stripe.ListObject``, ``stripe.ErrorObject``),
and no field the SDK does not know. An SDK upgrade that adds a field fails here: the
emulator must learn it (or state why Stripe leaves it out).

Source of the fields: the SDK itself (generated from Stripe's OpenAPI spec); of the
omissions: Stripe API reference, "The Customer object" (``sources``, ``subscriptions``,
``tax``, ``tax_ids``, ``cash_balance``, ``invoice_credit_balance`` are expandable/includable
only; ``deleted`` only on a deleted customer) and "The PaymentMethod object" (only the hash
of its own ``type``).
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
import requests
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.fixtures import TestCustomer, create_customer
from tests.emulator.conftest import API_KEY
from tests.emulator.scenarios import charge_params

CUSTOMER_ONLY_WHEN_EXPANDED = {
    "sources",
    "subscriptions",
    "tax",
    "tax_ids",
    "cash_balance",
    "invoice_credit_balance",
    "deleted",
}


def declared(cls: type) -> set[str]:
    """The response fields an SDK class declares (its own non-ClassVar annotations)."""
    return {
        name
        for name, annotation in vars(cls).get("__annotations__", {}).items()
        if "ClassVar" not in str(annotation)
    }


def raw(emulator: StripeEmulator, method: str, path: str, **data: Any) -> dict[str, Any]:
    response = requests.request(
        method,
        emulator.url + path,
        headers={"Authorization": f"Bearer {API_KEY}"},
        data=data or None,
        timeout=5,
    )
    document: dict[str, Any] = response.json()
    return document


def test_payment_intent_has_every_declared_field(emulator: StripeEmulator):
    params = {
        k: str(v).lower() if isinstance(v, bool) else v for k, v in charge_params("s-1").items()
    }
    params.pop("metadata")
    intent = raw(emulator, "POST", "/v1/payment_intents", **params)
    assert set(intent) == declared(stripe.PaymentIntent)


def test_list_has_every_declared_field(emulator: StripeEmulator):
    page = raw(emulator, "GET", "/v1/payment_intents")
    assert set(page) == declared(stripe.ListObject) | {"object"}


def test_customer_has_every_declared_field_but_the_expandable_ones(
    emulator: StripeEmulator, saved_customer: TestCustomer
):
    customer = raw(emulator, "GET", f"/v1/customers/{saved_customer.id}")
    assert set(customer) == declared(stripe.Customer) - CUSTOMER_ONLY_WHEN_EXPANDED


def test_payment_method_has_every_declared_field_but_other_types_hashes(
    emulator: StripeEmulator, saved_customer: TestCustomer
):
    payment_method = raw(emulator, "GET", f"/v1/payment_methods/{saved_customer.payment_method}")
    literal = typing.get_args(stripe.PaymentMethod.__annotations__["type"])[0]
    types = set(typing.get_args(literal))
    assert payment_method["type"] == "card"
    assert set(payment_method) == declared(stripe.PaymentMethod) - (types - {"card"})


@pytest.mark.parametrize(
    ("test_token", "type_", "details"),
    [
        ("pm_usBankAccount_success", "us_bank_account", stripe.PaymentMethod.UsBankAccount),
        ("pm_sepaDebit_success_de", "sepa_debit", stripe.PaymentMethod.SepaDebit),
    ],
)
def test_bank_debit_payment_methods_have_every_declared_field_but_other_types_hashes(
    emulator: StripeEmulator, test_token: str, type_: str, details: type
):
    """A bank test token retrieves as a new, unattached PaymentMethod of its type (like a
    card test ID, docs.stripe.com/testing), and attaches as another new one."""
    literal = typing.get_args(stripe.PaymentMethod.__annotations__["type"])[0]
    types = set(typing.get_args(literal))
    retrieved = raw(emulator, "GET", f"/v1/payment_methods/{test_token}")
    saved = create_customer(emulator.url, API_KEY, payment_method=test_token)
    attached = raw(emulator, "GET", f"/v1/payment_methods/{saved.payment_method}")
    assert retrieved["id"].startswith("pm_") and retrieved["id"] != test_token
    assert retrieved["customer"] is None and attached["customer"] == saved.id
    assert attached["id"] not in (retrieved["id"], test_token)
    for payment_method in (retrieved, attached):
        assert payment_method["type"] == type_
        assert set(payment_method) == declared(stripe.PaymentMethod) - (types - {type_})
        assert set(payment_method[type_]) == declared(details)
        assert set(payment_method["billing_details"]) == declared(
            stripe.PaymentMethod.BillingDetails
        )


def test_card_source_fields_are_declared_by_the_sdk(emulator: StripeEmulator):
    legacy = create_customer(emulator.url, API_KEY, payment_method=None, source="tok_visa")
    intent = raw(
        emulator,
        "POST",
        "/v1/payment_intents",
        amount="50",
        currency="usd",
        customer=legacy.id,
        confirm="true",
    )
    assert intent["source"] == legacy.default_source
    customer = raw(emulator, "GET", f"/v1/customers/{legacy.id}")
    assert customer["default_source"] == legacy.default_source


def test_error_fields_are_declared_by_the_sdk(emulator: StripeEmulator):
    decline = raw(
        emulator,
        "POST",
        "/v1/payment_intents",
        amount="1500",
        currency="usd",
        payment_method="pm_card_visa_chargeDeclined",
        confirm="true",
    )["error"]
    assert {"type", "code", "decline_code", "message", "payment_intent"} <= set(decline)
    assert set(decline) <= declared(stripe.ErrorObject)
    assert set(decline["payment_method"]) <= declared(stripe.PaymentMethod)
    invalid = raw(emulator, "POST", "/v1/payment_intents", amount="1")["error"]
    assert set(invalid) <= declared(stripe.ErrorObject)
