"""Customers and the payment methods saved on them, as Stripe's API keeps them.

Endpoints: ``POST /v1/customers`` (``email``, ``name``, ``description``, ``phone``,
``metadata``, ``payment_method``, ``invoice_settings[default_payment_method]``, ``source``),
``GET /v1/customers/{id}``, ``POST /v1/customers/{id}`` (``invoice_settings``,
``default_source``, and the plain fields), ``POST /v1/payment_methods/{id}/attach``,
``GET /v1/payment_methods/{id}``. Sources: Stripe API reference "Customers",
"PaymentMethods: attach", and docs.stripe.com/testing.

The rules a PaymentIntent meets here (``Customers.payment_method_for_intent`` and
``default_source``):

* A test ID such as ``pm_card_visa`` (or a bank test token such as
  ``pm_usBankAccount_success``, see ``async_payments``) is resolved on every use into a
  **new** PaymentMethod ``pm_...`` ("By default, a PaymentMethod isn't attached to a
  Customer", testing page); attaching a test ID likewise creates a new ``pm_...`` owned by
  that customer, and retrieving one shows a new, unattached one.
* Used in a PaymentIntent with no customer attachment, a PaymentMethod is spent: Stripe
  refuses to use it again ("previously used with a PaymentIntent without Customer
  attachment ... It may not be used again").
* A PaymentMethod attached to a customer can only be used with that ``customer``.
* Without ``payment_method``, confirming falls back **only** to ``customer.default_source``
  (API reference, PaymentIntent ``payment_method``): ``invoice_settings.default_payment_method``
  serves invoices and subscriptions, never a PaymentIntent (stripe-node #1081).

The store does no locking: the emulator state calls it under its lock.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stripe_emulator import async_payments, cards
from stripe_emulator.async_payments import BankDebit
from stripe_emulator.cards import TestCard
from stripe_emulator.forms import Params, read_metadata, read_string, reject_unknown
from stripe_emulator.payment_methods import (
    bank_debit_payment_method_object,
    card_source_object,
    payment_method_object,
)
from stripe_emulator.responses import StripeFailure, invalid_request, new_id, no_such

_CREATE_PARAMS = frozenset(
    {
        "email",
        "name",
        "description",
        "phone",
        "metadata",
        "payment_method",
        "invoice_settings",
        "source",
        "expand",
    }
)
_UPDATE_PARAMS = (_CREATE_PARAMS - {"payment_method"}) | {"default_source"}
_INVOICE_SETTINGS = frozenset({"default_payment_method"})


@dataclass(frozen=True)
class CustomerParams:
    """Validated parameters of a customer create or update (None: not given)."""

    fields: dict[str, str | None]
    metadata: dict[str, str] | None
    payment_method: str | None = None
    default_payment_method: str | None = None
    source: str | None = None
    default_source: str | None = None


def parse_create(params: Params) -> CustomerParams:
    """``POST /v1/customers``; 400 on the first unknown or malformed parameter."""
    return _parse(params, _CREATE_PARAMS)


def parse_update(params: Params) -> CustomerParams:
    """``POST /v1/customers/{id}`` (it takes no ``payment_method``, as on Stripe)."""
    return _parse(params, _UPDATE_PARAMS)


def _parse(params: Params, known: frozenset[str]) -> CustomerParams:
    reject_unknown(params, known)
    settings = params.get("invoice_settings")
    default_payment_method = None
    if settings is not None and settings != "":
        if not isinstance(settings, dict):
            raise invalid_request("Invalid object", param="invoice_settings")
        for name in settings:
            if name not in _INVOICE_SETTINGS:
                raise invalid_request(
                    f"Received unknown parameter: invoice_settings[{name}]",
                    param=f"invoice_settings[{name}]",
                    code="parameter_unknown",
                )
        default_payment_method = read_string(settings, "default_payment_method")
    return CustomerParams(
        fields={
            name: read_string(params, name)
            for name in ("email", "name", "description", "phone")
            if name in params
        },
        metadata=read_metadata(params) if "metadata" in params else None,
        payment_method=read_string(params, "payment_method"),
        default_payment_method=default_payment_method,
        source=read_string(params, "source"),
        default_source=read_string(params, "default_source"),
    )


@dataclass(frozen=True)
class ChargeWith:
    """What a PaymentIntent charges: the object's ID, its card, and the PaymentMethod
    object an error carries (a Card source for ``default_source``)."""

    id: str
    #: The card behind it; None for a bank debit.
    card: TestCard | None
    document: dict[str, Any]
    is_source: bool = False
    #: The bank account behind a ``us_bank_account`` or ``sepa_debit`` PaymentMethod.
    debit: BankDebit | None = None


class Customers:
    """Customers, their PaymentMethods and legacy Card sources."""

    def __init__(self) -> None:
        self._customers: dict[str, dict[str, Any]] = {}
        self._payment_methods: dict[str, dict[str, Any]] = {}
        self._sources: dict[str, dict[str, Any]] = {}
        self._cards: dict[str, TestCard] = {}  # pm_ and card_ IDs -> what charging does
        self._debits: dict[str, BankDebit] = {}  # bank-debit pm_ IDs -> what the bank does
        self._spent: set[str] = set()  # used without a customer attachment

    def clear(self) -> None:
        """Forget everything."""
        self.__init__()  # type: ignore[misc]

    # -- customers ----------------------------------------------------------------------

    def create(self, params: CustomerParams, *, now: int) -> dict[str, Any]:
        """Create a customer; ``payment_method`` is attached, ``source`` saved as a card."""
        customer_id = new_id("cus", 14)
        customer: dict[str, Any] = {
            "id": customer_id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "business_name": None,
            "created": now,
            "currency": None,
            "customer_account": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": None,
            "individual_name": None,
            "invoice_prefix": customer_id[4:12].upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        # Check everything before storing anything: a refused create leaves no customer.
        source_card = self._token(params.source) if params.source else None
        if params.payment_method:
            self._check_attachable(params.payment_method, customer_id)
        if params.default_payment_method not in (None, params.payment_method):
            # A new customer has nothing attached but what this create attaches.
            raise _not_attached(params.default_payment_method)
        self._customers[customer_id] = customer
        if params.payment_method:
            attached_id = self._attach(params.payment_method, customer_id, now=now)
            if params.default_payment_method == params.payment_method:
                # The test ID names the PaymentMethod it just became.
                params = _with_default(params, attached_id)
        if source_card is not None:
            card_id = new_id("card", 24)
            self._sources[card_id] = card_source_object(card_id, source_card, customer=customer_id)
            self._cards[card_id] = source_card
            customer["default_source"] = card_id
        self._apply(customer, params)  # checked above: it cannot fail now
        return copy.deepcopy(customer)

    def update(self, customer_id: str, params: CustomerParams) -> dict[str, Any]:
        """Update a customer's fields, invoice default or default source."""
        customer = self._customer(customer_id, status=404, param="id")
        if params.source:
            raise invalid_request(
                "Adding a source on update is not modelled by this emulator.", param="source"
            )
        candidate = copy.deepcopy(customer)
        self._apply(candidate, params)
        self._customers[customer_id] = candidate
        return copy.deepcopy(candidate)

    def retrieve(self, customer_id: str) -> dict[str, Any]:
        """``GET /v1/customers/{id}``."""
        return copy.deepcopy(self._customer(customer_id, status=404, param="id"))

    def require(self, customer_id: str) -> None:
        """400 ``resource_missing`` on ``customer`` unless it exists (PaymentIntent create)."""
        self._customer(customer_id, status=400, param="customer")

    def _apply(self, customer: dict[str, Any], params: CustomerParams) -> None:
        customer.update(params.fields)
        if params.metadata is not None:
            customer["metadata"] = params.metadata
        if params.default_payment_method is not None:
            owner = self._payment_methods.get(params.default_payment_method, {}).get("customer")
            if owner != customer["id"]:
                raise _not_attached(params.default_payment_method)
            customer["invoice_settings"]["default_payment_method"] = params.default_payment_method
        if params.default_source is not None:
            if self._sources.get(params.default_source, {}).get("customer") != customer["id"]:
                raise no_such("source", params.default_source, param="default_source")
            customer["default_source"] = params.default_source

    def _customer(self, customer_id: str, *, status: int, param: str) -> dict[str, Any]:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id, param=param, status=status)
        return customer

    # -- payment methods ----------------------------------------------------------------

    def attach(self, payment_method_id: str, customer_id: str, *, now: int) -> dict[str, Any]:
        """``POST /v1/payment_methods/{id}/attach``; a test ID (card or bank test token)
        becomes a new ``pm_...``."""
        self._customer(customer_id, status=400, param="customer")
        self._check_attachable(payment_method_id, customer_id)
        attached_id = self._attach(payment_method_id, customer_id, now=now)
        return copy.deepcopy(self._payment_methods[attached_id])

    def retrieve_payment_method(self, payment_method_id: str) -> dict[str, Any]:
        """``GET /v1/payment_methods/{id}`` (a test ID resolves to a new one, unattached)."""
        if _is_test_id(payment_method_id):
            return copy.deepcopy(self._from_test_id(payment_method_id, 0, None))
        found = self._payment_methods.get(payment_method_id)
        if found is None:
            raise no_such("PaymentMethod", payment_method_id, param="payment_method", status=404)
        return copy.deepcopy(found)

    def _check_attachable(self, payment_method_id: str, customer_id: str) -> None:
        """Raise unless ``payment_method_id`` may be attached to the customer; changes
        nothing, so that a refused create leaves no trace."""
        test_card = cards.PAYMENT_METHODS.get(payment_method_id)
        if test_card is not None:
            if not test_card.attachable:
                # "The cards in the previous table can't be attached to a Customer object."
                outcome = test_card.outcome
                raise StripeFailure(
                    402,
                    "card_error",
                    outcome.message,
                    code=outcome.code,
                    decline_code=outcome.decline_code,
                )
            return
        if async_payments.lookup(payment_method_id) is not None:
            return
        existing = self._payment_methods.get(payment_method_id)
        if existing is None:
            raise no_such("PaymentMethod", payment_method_id, param="payment_method")
        owner = existing["customer"]
        if owner is not None and owner != customer_id:
            raise invalid_request(
                "The payment method you provided has already been attached to a customer.",
                param="payment_method",
            )
        if payment_method_id in self._spent:
            raise _spent(payment_method_id)

    def _attach(self, payment_method_id: str, customer_id: str, *, now: int) -> str:
        """Attach what ``_check_attachable`` allowed; returns the attached ``pm_...``."""
        if _is_test_id(payment_method_id):
            return str(self._from_test_id(payment_method_id, now, customer_id)["id"])
        self._payment_methods[payment_method_id]["customer"] = customer_id
        return payment_method_id

    def _from_test_id(self, test_id: str, now: int, customer: str | None) -> dict[str, Any]:
        """A new PaymentMethod from a card test ID or a bank test token."""
        debit = async_payments.lookup(test_id)
        if debit is not None:
            return self._new_bank_debit(test_id, debit, now, customer)
        return self._new_payment_method(test_id, now, customer)

    def _new_payment_method(self, test_id: str, now: int, customer: str | None) -> dict[str, Any]:
        card = cards.PAYMENT_METHODS[test_id]
        payment_method_id = new_id("pm", 24)
        document = payment_method_object(payment_method_id, card, created=now, customer=customer)
        self._payment_methods[payment_method_id] = document
        self._cards[payment_method_id] = card
        return document

    def _new_bank_debit(
        self, test_id: str, debit: BankDebit, now: int, customer: str | None
    ) -> dict[str, Any]:
        """A ``us_bank_account`` or ``sepa_debit`` PaymentMethod from a bank test token."""
        payment_method_id = new_id("pm", 24)
        document = bank_debit_payment_method_object(
            payment_method_id, test_id, debit, created=now, customer=customer
        )
        self._payment_methods[payment_method_id] = document
        self._debits[payment_method_id] = debit
        return document

    def _token(self, token: str) -> TestCard:
        card = cards.TOKENS.get(token)
        if card is None:
            raise no_such("token", token, param="source")
        if not card.attachable:
            outcome = card.outcome
            raise StripeFailure(
                402, "card_error", outcome.message, code=outcome.code,
                decline_code=outcome.decline_code, param="source",
            )  # fmt: skip
        return card

    # -- what a PaymentIntent charges ---------------------------------------------------

    def payment_method_for_intent(
        self, payment_method_id: str, customer_id: str | None, *, now: int
    ) -> ChargeWith:
        """Resolve a PaymentIntent's ``payment_method`` under the rules in the docstring."""
        if _is_test_id(payment_method_id):
            fresh = self._from_test_id(payment_method_id, now, None)
            return self._charge_with(fresh)
        source = self._sources.get(payment_method_id)
        if source is not None:
            self._check_owner(payment_method_id, source["customer"], customer_id)
            return ChargeWith(payment_method_id, self._cards[payment_method_id], source, True)
        document = self._payment_methods.get(payment_method_id)
        if document is None:
            raise no_such("PaymentMethod", payment_method_id, param="payment_method")
        if document["customer"] is None and payment_method_id in self._spent:
            raise _spent(payment_method_id)
        self._check_owner(payment_method_id, document["customer"], customer_id)
        return self._charge_with(document)

    def _charge_with(self, document: dict[str, Any]) -> ChargeWith:
        payment_method_id = str(document["id"])
        debit = self._debits.get(payment_method_id)
        if debit is not None:
            return ChargeWith(payment_method_id, None, document, debit=debit)
        return ChargeWith(payment_method_id, self._cards[payment_method_id], document)

    def default_source(self, customer_id: str | None) -> ChargeWith | None:
        """The customer's ``default_source`` card, the only fallback of a PaymentIntent."""
        if customer_id is None:
            return None
        card_id = self._customers[customer_id]["default_source"]
        if card_id is None:
            return None
        return ChargeWith(card_id, self._cards[card_id], self._sources[card_id], True)

    def used(self, charged: ChargeWith) -> None:
        """A PaymentIntent used ``charged``: an unattached PaymentMethod is now spent."""
        if not charged.is_source and charged.document.get("customer") is None:
            self._spent.add(charged.id)

    def _check_owner(self, object_id: str, owner: str | None, customer_id: str | None) -> None:
        if owner is None or owner == customer_id:
            return
        # The message Stripe sends when the customer is missing (stripe-sdk #49 shows it);
        # for another customer the code is UNCONFIRMED: none is sent.
        raise invalid_request(
            f"The `payment_method` parameter supplied {object_id} belongs to the Customer "
            f"{owner}. Please include the Customer in the `customer` parameter on the "
            "PaymentIntent.",
            param="payment_method",
        )


def _is_test_id(payment_method_id: str) -> bool:
    """A card test ID (``pm_card_visa``) or a bank test token (``pm_usBankAccount_success``)."""
    return (
        payment_method_id in cards.PAYMENT_METHODS
        or async_payments.lookup(payment_method_id) is not None
    )


def _not_attached(payment_method_id: str) -> StripeFailure:
    return invalid_request(
        f"No such PaymentMethod: '{payment_method_id}'; the invoice default must be attached "
        "to this customer.",
        param="invoice_settings[default_payment_method]",
        code="resource_missing",
    )


def _spent(payment_method_id: str) -> StripeFailure:
    return invalid_request(
        f"The provided PaymentMethod ({payment_method_id}) was previously used with a "
        "PaymentIntent without Customer attachment, shared with a connected account without "
        "Customer attachment, or was detached from a Customer. It may not be used again. To "
        "use a PaymentMethod multiple times, you must attach it to a Customer first.",
        param="payment_method",
    )


def _with_default(params: CustomerParams, default_payment_method: str) -> CustomerParams:
    return CustomerParams(
        fields=params.fields,
        metadata=params.metadata,
        payment_method=params.payment_method,
        default_payment_method=default_payment_method,
        source=params.source,
        default_source=params.default_source,
    )
