"""Creating a PaymentIntent as plain functions: validate the parameters, create, confirm.

Nothing here locks or knows about HTTP: the state calls these under its lock. Parameter
validation (``parse_create``) runs before execution begins, so its 400s are
never saved for an idempotency key; failures raised by ``create`` (an unknown customer or
PaymentMethod, nothing to charge) and card declines happen during execution and are saved
like Stripe saves them. Which payment method is charged follows ``customers.Customers``;
amounts and currencies follow ``currencies``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stripe_emulator import async_payments, currencies
from stripe_emulator.customers import ChargeWith, Customers
from stripe_emulator.forms import (
    Params,
    read_boolean,
    read_integer,
    read_list,
    read_metadata,
    read_string,
    reject_unknown,
)
from stripe_emulator.responses import StripeFailure, invalid_request, new_id

Intent = dict[str, Any]

_CREATE_PARAMS = frozenset(
    {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "confirm",
        "off_session",
        "description",
        "metadata",
        "capture_method",
        "payment_method_types",
        "receipt_email",
        "statement_descriptor",
        "expand",
    }
)
_CAPTURE_METHODS = frozenset({"automatic", "automatic_async", "manual"})


@dataclass(frozen=True)
class CreateRequest:
    """Validated parameters of ``POST /v1/payment_intents``."""

    amount: int
    currency: str
    customer: str | None
    payment_method: str | None
    confirm: bool
    off_session: bool
    capture_method: str
    description: str | None
    metadata: dict[str, str]
    payment_method_types: list[str]
    receipt_email: str | None
    statement_descriptor: str | None


@dataclass(frozen=True)
class Created:
    """A new PaymentIntent and, for a decline, the 402 that carries it."""

    intent: Intent
    decline: StripeFailure | None = None
    #: The bank debit a ``processing`` intent waits on, to be settled on the clock, and
    #: the PaymentMethod object it debits.
    debit: async_payments.BankDebit | None = None
    payment_method: dict[str, Any] | None = None


def parse_create(params: Params) -> CreateRequest:
    """Check the parameters like Stripe does before executing; 400 on the first problem."""
    reject_unknown(params, _CREATE_PARAMS)
    amount = read_integer(params, "amount", required=True)
    assert amount is not None
    if amount < 1:
        raise invalid_request("Invalid positive integer", param="amount")
    currency = currencies.check_currency(read_string(params, "currency", required=True) or "")
    currencies.check_amount(amount, currency)
    customer = read_string(params, "customer")
    payment_method = read_string(params, "payment_method")
    confirm = read_boolean(params, "confirm")
    off_session = _off_session(params)
    if off_session and not confirm:
        raise invalid_request(
            "You can only pass `off_session` when `confirm` is true.", param="off_session"
        )
    if off_session and not customer:
        raise invalid_request(
            "A customer is required to confirm a PaymentIntent off-session.", param="customer"
        )
    capture_method = read_string(params, "capture_method") or "automatic_async"
    if capture_method not in _CAPTURE_METHODS:
        raise invalid_request(f"Invalid capture_method: {capture_method}", param="capture_method")
    types = read_list(params, "payment_method_types") or ["card"]
    return CreateRequest(
        amount=amount,
        currency=currency,
        customer=customer,
        payment_method=payment_method,
        confirm=confirm,
        off_session=off_session,
        capture_method=capture_method,
        description=read_string(params, "description"),
        metadata=read_metadata(params),
        payment_method_types=types,
        receipt_email=read_string(params, "receipt_email"),
        statement_descriptor=read_string(params, "statement_descriptor"),
    )


def create(request: CreateRequest, *, created: int, customers: Customers) -> Created:
    """Create the PaymentIntent and, with ``confirm``, charge it at once.

    Raises 400 ``resource_missing`` for an unknown customer or PaymentMethod, 400 for a
    PaymentMethod that belongs to another customer or was spent, and 400
    ``payment_intent_unexpected_state`` when confirming finds nothing to charge.
    """
    if request.customer:
        customers.require(request.customer)
    charge_with = None
    if request.payment_method:
        charge_with = customers.payment_method_for_intent(
            request.payment_method, request.customer, now=created
        )
    intent = _new_intent(request, created, charge_with)
    if not request.confirm:
        return Created(intent)
    if charge_with is None:
        # The legacy fallback, and the only one (API reference, PaymentIntent
        # ``payment_method``): invoice_settings.default_payment_method is not used.
        charge_with = customers.default_source(request.customer)
        if charge_with is None:
            raise invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "You can either update the PaymentIntent with a payment method and then "
                "confirm it again, or confirm it again directly with a payment method.",
                code="payment_intent_unexpected_state",
            )
        intent["source"] = charge_with.id
    else:
        intent["payment_method"] = charge_with.id
    customers.used(charge_with)
    return _confirm(intent, request, charge_with)


def _new_intent(request: CreateRequest, created: int, charge_with: ChargeWith | None) -> Intent:
    """Every field ``stripe.PaymentIntent`` declares; the ones not modelled are null."""
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "allowed_payment_method_types": None,
        "amount": request.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": request.capture_method,
        "client_secret": f"{intent_id}_secret_{new_id('s')[2:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": request.currency,
        "customer": request.customer,
        "customer_account": None,
        "description": request.description,
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(request.metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_details": None,
        "payment_method": charge_with.id if charge_with else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": list(request.payment_method_types),
        "payment_record": None,
        "presentment_details": None,
        "processing": None,
        "receipt_email": request.receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": request.statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation" if charge_with else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def _confirm(intent: Intent, request: CreateRequest, charge_with: ChargeWith) -> Created:
    if charge_with.debit is not None:
        # A bank debit: the intent waits in processing; the state settles it later.
        async_payments.start(intent, charge_with.id, charge_with.debit)
        return Created(intent, debit=charge_with.debit, payment_method=charge_with.document)
    assert charge_with.card is not None  # a ChargeWith is a card or a bank debit
    result = charge_with.card.outcome
    if result.result == "succeeded":
        manual = request.capture_method == "manual"
        intent["status"] = "requires_capture" if manual else "succeeded"
        intent["amount_capturable" if manual else "amount_received"] = request.amount
        intent["latest_charge"] = new_id("ch")
        return Created(intent)
    if result.result == "authentication_required" and not request.off_session:
        # On-session the customer is there to authenticate: Stripe asks for 3D Secure.
        intent["status"] = "requires_action"
        intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
        return Created(intent)
    # A decline (or authentication needed off-session): the intent exists, waiting for
    # another payment method, and the 402 carries it, as Stripe's does.
    charge = new_id("ch")
    error: dict[str, Any] = {
        "type": "card_error",
        "code": result.code,
        "message": result.message,
        "charge": charge,
        "doc_url": f"https://stripe.com/docs/error-codes/{(result.code or '').replace('_', '-')}",
    }
    if result.decline_code:
        error["decline_code"] = result.decline_code
    if charge_with.is_source:
        error["source"] = copy.deepcopy(charge_with.document)
    else:
        error["payment_method"] = copy.deepcopy(charge_with.document)
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        source=None,
        latest_charge=charge,
        last_payment_error=error,
    )
    decline = StripeFailure(
        402,
        "card_error",
        result.message,
        code=result.code,
        decline_code=result.decline_code,
        charge=charge,
        payment_method=error.get("payment_method"),
        source=error.get("source"),
        payment_intent=copy.deepcopy(intent),
    )
    return Created(intent, decline)


def _off_session(params: Params) -> bool:
    # Besides true/false, Stripe accepts the legacy values "one_off" and "recurring".
    text = read_string(params, "off_session")
    if text in ("one_off", "recurring"):
        return True
    return read_boolean(params, "off_session")
