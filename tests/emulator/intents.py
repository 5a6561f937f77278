"""Request parameters for the emulator tests, shaped like the pipeline's charges."""

from __future__ import annotations

from typing import Any

import stripe


def charge_params(request_id: str, **overrides: Any) -> dict[str, Any]:
    """An off-session, confirmed PaymentIntent, as the charge function creates it."""
    return {
        "amount": 1500,
        "currency": "usd",
        "customer": "cus_good",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "off_session": True,
        "metadata": {"request_id": request_id},
    } | overrides


def create(
    client: stripe.StripeClient, request_id: str, key: str | None = None, **overrides: Any
) -> stripe.PaymentIntent:
    """Create with the idempotency key ``key`` (default: derived from ``request_id``)."""
    return client.v1.payment_intents.create(
        params=charge_params(request_id, **overrides),  # type: ignore[arg-type]
        options={"idempotency_key": key or f"key-{request_id}"},
    )


def replayed(obj: stripe.StripeObject | stripe.StripeError) -> bool:
    """Whether Stripe answered from a saved idempotent response."""
    if isinstance(obj, stripe.StripeError):
        headers = obj.headers or {}
    else:
        assert obj.last_response is not None
        headers = obj.last_response.headers
    return headers.get("Idempotent-Replayed") == "true"
