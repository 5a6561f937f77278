"""Creating a PaymentIntent as plain functions: validate the parameters, create, confirm.

Nothing here locks or knows about HTTP: the state calls these under its lock. Parameter
validation (``parse_create``) runs before execution begins, so its 400s are
never saved for an idempotency key; failures raised by ``create`` (an unknown customer) and
card declines happen during execution and are saved like Stripe saves them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from stripe_emulator import async_payments, cards
from stripe_emulator.forms import (
    Params,
    read_boolean,
    read_integer,
    read_list,
    read_string,
    reject_unknown,
)
from stripe_emulator.responses import StripeFailure, invalid_request, new_id, no_such

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
_MAX_AMOUNT = 99_999_999  # Stripe's limit: eight digits in the smallest currency unit


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


def parse_create(params: Params) -> CreateRequest:
    """Check the parameters like Stripe does before executing; 400 on the first problem."""
    reject_unknown(params, _CREATE_PARAMS)
    amount = read_integer(params, "amount", required=True)
    assert amount is not None
    if amount < 1:
        raise invalid_request("Invalid positive integer", param="amount")
    if amount > _MAX_AMOUNT:
        raise invalid_request(
            "Amount must be no more than 99,999,999", param="amount", code="amount_too_large"
        )
    currency = read_string(params, "currency", required=True) or ""
    # Stripe lowercases ISO codes ("USD" is accepted and returned as "usd").
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise invalid_request(f"Invalid currency: {currency}", param="currency")
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
    if confirm and not payment_method and not customer:
        raise invalid_request(
            "You must provide a `payment_method` (or a `customer` with one on file) "
            "to confirm this PaymentIntent.",
            param="payment_method",
            code="parameter_missing",
        )
    capture_method = read_string(params, "capture_method") or "automatic_async"
    if capture_method not in _CAPTURE_METHODS:
        raise invalid_request(f"Invalid capture_method: {capture_method}", param="capture_method")
    types = read_list(params, "payment_method_types") or ["card"]
    return CreateRequest(
        amount=amount,
        currency=currency.lower(),
        customer=customer,
        payment_method=payment_method,
        confirm=confirm,
        off_session=off_session,
        capture_method=capture_method,
        description=read_string(params, "description"),
        metadata=_metadata(params),
        payment_method_types=types,
        receipt_email=read_string(params, "receipt_email"),
        statement_descriptor=read_string(params, "statement_descriptor"),
    )


def create(request: CreateRequest, *, created: int) -> Created:
    """Create the PaymentIntent and, with ``confirm``, charge it at once."""
    if request.customer and not cards.customer_exists(request.customer):
        raise no_such("customer", request.customer, param="customer")
    if request.payment_method and not cards.payment_method_exists(request.payment_method):
        raise no_such("PaymentMethod", request.payment_method, param="payment_method")
    intent_id = new_id("pi")
    intent: Intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": request.amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": request.capture_method,
        "client_secret": f"{intent_id}_secret_{new_id('s')[2:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": request.currency,
        "customer": request.customer,
        "description": request.description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(request.metadata),
        "next_action": None,
        "payment_method": request.payment_method,
        "payment_method_types": list(request.payment_method_types),
        "receipt_email": request.receipt_email,
        "setup_future_usage": None,
        "statement_descriptor": request.statement_descriptor,
        "status": "requires_confirmation" if request.payment_method else "requires_payment_method",
    }
    if not request.confirm:
        return Created(intent)
    return _confirm(intent, request)


def _confirm(intent: Intent, request: CreateRequest) -> Created:
    payment_method = request.payment_method
    if payment_method is None:
        assert request.customer is not None  # parse_create guarantees one of the two
        payment_method = cards.default_payment_method(request.customer)
    debit = async_payments.lookup(payment_method)
    if debit is not None:
        # A bank debit: the intent waits in processing; the state settles it later.
        async_payments.start(intent, payment_method, debit)
        return Created(intent)
    result = cards.outcome(payment_method)
    intent["payment_method"] = payment_method
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
    error = {
        "type": "card_error",
        "code": result.code,
        "decline_code": result.decline_code,
        "message": result.message,
        "charge": charge,
        "doc_url": f"https://stripe.com/docs/error-codes/{(result.code or '').replace('_', '-')}",
        "payment_method": {
            "id": payment_method,
            "object": "payment_method",
            "type": "card",
            "customer": request.customer,
        },
    }
    intent.update(
        status="requires_payment_method",
        payment_method=None,
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
        payment_method=error["payment_method"],
        payment_intent=copy.deepcopy(intent),
    )
    return Created(intent, decline)


def _off_session(params: Params) -> bool:
    # Besides true/false, Stripe accepts the legacy values "one_off" and "recurring".
    text = read_string(params, "off_session")
    if text in ("one_off", "recurring"):
        return True
    return read_boolean(params, "off_session")


def _metadata(params: Params) -> dict[str, str]:
    raw = params.get("metadata")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param="metadata")
    if len(raw) > 50:
        raise invalid_request("Metadata can have at most 50 keys.", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_request("Metadata values must be strings.", param=f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise invalid_request(
                "Metadata keys are at most 40 characters and values at most 500.",
                param=f"metadata[{key}]",
            )
    # An empty value unsets a key in Stripe; on create it simply is not stored.
    return {key: value for key, value in raw.items() if value != ""}
