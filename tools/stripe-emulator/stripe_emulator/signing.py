"""Webhook signatures as Stripe makes them (docs.stripe.com/webhooks, "Verify webhook
signatures with official libraries" and "Verify manually").

Each endpoint has a signing secret ``whsec_...``. A delivery carries ``Stripe-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the secret>``. ``t`` is
the time of the delivery attempt, so a retry is signed afresh; receivers (the SDK's
``Webhook.construct_event``) refuse a ``t`` older than their tolerance (300 s by default).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Stripe-Signature"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 32 random characters."""
    return "whsec_" + secrets.token_urlsafe(24)


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` scheme: hex HMAC-SHA256 of ``"{timestamp}.{payload}"``."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value for one delivery attempt."""
    return f"t={timestamp},v1={signature(payload, secret, timestamp)}"
