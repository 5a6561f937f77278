"""Forged Stripe webhooks sent to the local endpoint: each must get a 400 and write nothing.

Stripe signs each delivery with the endpoint's secret: ``Stripe-Signature: t=<unix
seconds>,v1=<HMAC-SHA256 of "<t>.<body>">``; a receiver verifies it with the SDK and
refuses a missing, wrong or stale one (docs.stripe.com/webhooks, "Verify webhook
signatures"; the SDK's default tolerance is 300 s). The forgeries claim
``payment_intent.succeeded`` for requests no producer sent (``forged-...``), so one that
got through would leave a ``charged`` ledger item that Stripe never charged, which the
run's outcome check reports; their answers are counted here.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections import Counter

from stripe_emulator.signing import SIGNATURE_HEADER, new_secret, signature_header

#: How each forgery is made (its fault name in the soak's table).
KINDS = (
    "forged_webhook_unsigned",
    "forged_webhook_wrong_secret",
    "forged_webhook_stale",
    "forged_webhook_tampered",
)
#: Older than the SDK's tolerance (300 s).
STALE_SECONDS = 3600


def forged_event(request_id: str, created: int) -> bytes:
    """A ``payment_intent.succeeded`` Event for a PaymentIntent Stripe never made."""
    intent = {
        "id": "pi_forged" + hashlib.sha256(request_id.encode()).hexdigest()[:16],
        "object": "payment_intent",
        "amount": 100_000,
        "currency": "usd",
        "customer": "cus_forged",
        "status": "succeeded",
        "metadata": {"request_id": request_id},
    }
    event = {
        "id": f"evt_forged_{request_id}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
    }
    return json.dumps(event).encode()


def send_forgeries(url: str, secret: str, count: int, prefix: str) -> tuple[Counter[str], int]:
    """Send ``count`` forgeries, the kinds in turn; returns (sent by kind, answers that
    were not 400)."""
    sent: Counter[str] = Counter()
    not_refused = 0
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        now = int(time.time())
        body = forged_event(f"{prefix}-{index:04d}", now)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if kind == "forged_webhook_wrong_secret":
            headers[SIGNATURE_HEADER] = signature_header(body, new_secret(), now)
        elif kind == "forged_webhook_stale":
            headers[SIGNATURE_HEADER] = signature_header(body, secret, now - STALE_SECONDS)
        elif kind == "forged_webhook_tampered":
            # A genuine signature of another body: the one Stripe signed, then altered.
            original = forged_event(f"{prefix}-{index:04d}-original", now)
            headers[SIGNATURE_HEADER] = signature_header(original, secret, now)
        if _post(url, body, headers) != 400:
            not_refused += 1
        sent[kind] += 1
    return sent, not_refused


def _post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None
