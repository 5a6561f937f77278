"""Building blocks of the emulator tests: charges shaped like the pipeline's, and waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import stripe

#: The customer a charge names unless told otherwise, and its saved card: made through the
#: API for each test by the ``saved_customer`` fixture (conftest), as a Stripe test-mode
#: fixture would be.
CURRENT: dict[str, str] = {}


def charge_params(request_id: str, **overrides: Any) -> dict[str, Any]:
    """An off-session, confirmed PaymentIntent, as the charge function creates it."""
    return {
        "amount": 1500,
        "currency": "usd",
        "customer": CURRENT["customer"],
        "payment_method": CURRENT["payment_method"],
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
    headers: Mapping[str, str]
    if isinstance(obj, stripe.StripeError):
        headers = obj.headers or {}
    else:
        assert obj.last_response is not None
        headers = obj.last_response.headers
    return headers.get("Idempotent-Replayed") == "true"


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll until ``condition()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
