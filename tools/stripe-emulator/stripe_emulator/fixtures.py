"""Test-mode fixtures made through the Stripe API, as one would make them on Stripe itself:
a customer, a card attached to it as a PaymentMethod (set as its invoice default), or a
legacy card ``source`` (its ``default_source``).

The calls are plain ``POST /v1/customers``, ``POST /v1/payment_methods/{id}/attach`` and
``POST /v1/customers/{id}`` with a secret key, so the same fixture works against this
emulator and against a Stripe sandbox. Standard library only (urllib)::

    saved = create_customer(url, api_key, payment_method="pm_card_visa")
    saved.payment_method        # "pm_..." attached to saved.id, its invoice default
    legacy = create_customer(url, api_key, payment_method=None, source="tok_visa")
    legacy.default_source       # "card_..."

Rate limits: a 429 (``rate_limit`` or ``lock_timeout``) is retried with exponential
backoff, as docs.stripe.com/rate-limits advises ("Handling limiting gracefully"): a pool of
customers made in one go exceeds a sandbox's 25 requests per second. A 429 executed
nothing, so the retry cannot create twice. The backoff sleeps in real time: against an
emulator on a stopped ``ManualClock`` the limit's window never moves and the fixture fails
after its retries.

Note for charges: a PaymentIntent without ``payment_method`` falls back to the customer's
``default_source`` only, never to ``invoice_settings.default_payment_method``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class FixtureError(RuntimeError):
    """The API refused a fixture call (``status`` and Stripe's ``error`` object)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(f"{status}: {error.get('message')}")
        self.status = status
        self.error = error


@dataclass(frozen=True)
class TestCustomer:
    """A customer made by :func:`create_customer`."""

    __test__ = False  # a fixture, not a pytest test class

    id: str
    #: The ``pm_...`` attached to the customer (its invoice default when asked), or None.
    payment_method: str | None
    #: The legacy ``card_...`` that PaymentIntents without ``payment_method`` charge.
    default_source: str | None


def create_customer(
    url: str,
    api_key: str,
    *,
    payment_method: str | None = "pm_card_visa",
    invoice_default: bool = True,
    source: str | None = None,
    email: str | None = None,
    timeout: float = 10.0,
) -> TestCustomer:
    """Create a customer; attach ``payment_method`` (a test ID such as ``pm_card_visa``
    becomes a new ``pm_...``) and make it the invoice default when ``invoice_default``;
    save ``source`` (a test token such as ``tok_visa``) as its default source."""
    client = _Client(url, api_key, timeout)
    fields = {"email": email, "source": source}
    customer = client.post("/v1/customers", {k: v for k, v in fields.items() if v})
    attached = None
    if payment_method:
        path = f"/v1/payment_methods/{urllib.parse.quote(payment_method)}/attach"
        attached = client.post(path, {"customer": customer["id"]})["id"]
        if invoice_default:
            client.post(
                f"/v1/customers/{customer['id']}",
                {"invoice_settings[default_payment_method]": attached},
            )
    return TestCustomer(customer["id"], attached, customer.get("default_source"))


class _Client:
    def __init__(self, url: str, api_key: str, timeout: float) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP URL: {url!r}")
        self._url = url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout

    #: Attempts of one call refused with 429, and the first backoff (doubling, capped).
    ATTEMPTS = 8
    FIRST_BACKOFF_SECONDS = 0.25
    MAX_BACKOFF_SECONDS = 4.0

    def post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """POST form-encoded ``params``; retries 429s with backoff, raises FixtureError."""
        backoff = self.FIRST_BACKOFF_SECONDS
        for _ in range(self.ATTEMPTS - 1):
            try:
                return self._post_once(path, params)
            except FixtureError as error:
                if error.status != 429:
                    raise
            time.sleep(backoff)
            backoff = min(backoff * 2, self.MAX_BACKOFF_SECONDS)
        return self._post_once(path, params)

    def _post_once(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url + path,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                document: dict[str, Any] = json.loads(response.read())
                return document
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read()).get("error", {})
            except ValueError:
                body = {"message": "not a Stripe error body"}
            raise FixtureError(error.code, body) from error
