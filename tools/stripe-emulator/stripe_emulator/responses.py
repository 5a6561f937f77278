"""What the emulator answers: a status, a JSON body and headers, or a dropped connection.

Error bodies have Stripe's shape, ``{"error": {"type", "code", "message", "param", ...}}``,
because the SDK picks its exception class from the status code and ``error.type``
(``_api_requestor.specific_v1_api_error``). Stripe documents four error types
(``api_error``, ``card_error``, ``idempotency_error``, ``invalid_request_error``); 401 and
429 are ``invalid_request_error`` bodies that the SDK maps by status code alone.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking object ID such as ``pi_3Ab...``."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class Reply:
    """One HTTP answer. ``drop`` means: close the connection without sending anything."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False

    def with_headers(self, extra: Mapping[str, str]) -> Reply:
        """The same reply with more headers."""
        return Reply(self.status, self.body, {**self.headers, **extra}, self.drop)


DROP = Reply(status=0, drop=True)


def json_reply(document: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON body with its status; Content-Type/Length are added by the server."""
    body = json.dumps(document, indent=2).encode()
    return Reply(status=status, body=body, headers=dict(headers or {}))


class StripeFailure(Exception):
    """An error response, raised from anywhere in request handling and turned into a Reply."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        should_retry: bool | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        # Stripe omits null attributes from error objects; so do we.
        self.error: dict[str, Any] = {"type": error_type, "message": message}
        if code:
            self.error["code"] = code
            self.error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.error["param"] = param
        self.error.update({name: value for name, value in extra.items() if value is not None})
        self.headers: dict[str, str] = {}
        if should_retry is not None:
            self.headers["Stripe-Should-Retry"] = "true" if should_retry else "false"

    def reply(self) -> Reply:
        """The HTTP answer for this failure."""
        return json_reply({"error": self.error}, self.status, self.headers)


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeFailure:
    """400 (or 404) ``invalid_request_error``: the SDK raises ``InvalidRequestError``."""
    return StripeFailure(status, "invalid_request_error", message, param=param, code=code)


def no_such(resource: str, object_id: str, param: str, status: int = 400) -> StripeFailure:
    """Stripe's ``resource_missing`` for an ID it does not know."""
    return invalid_request(
        f"No such {resource}: '{object_id}'", param=param, code="resource_missing", status=status
    )


def authentication_failed(api_key: str | None) -> StripeFailure:
    """401: the SDK raises ``AuthenticationError``."""
    if not api_key:
        message = (
            "You did not provide an API key. Provide it in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    else:
        masked = api_key[:8] + "*" * max(len(api_key) - 12, 0) + api_key[-4:]
        message = f"Invalid API Key provided: {masked}"
    return StripeFailure(401, "invalid_request_error", message)


def rate_limited(should_retry: bool) -> StripeFailure:
    """429: the SDK raises ``RateLimitError``, and retries only when told it should."""
    return StripeFailure(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Retry your request after a brief wait, with backoff.",
        code="rate_limit",
        should_retry=should_retry,
    )


def lock_timeout() -> StripeFailure:
    """429 ``lock_timeout``: another request is writing the object. Stripe's libraries retry
    these (docs.stripe.com/rate-limits, "Object lock timeouts"); stripe-python does so only
    on ``Stripe-Should-Retry: true``, so Stripe sends it. Message as Stripe words it."""
    return StripeFailure(
        429,
        "invalid_request_error",
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request. If you see this error frequently and are making multiple concurrent "
        "requests to a single object, make your requests serially or at a lower rate.",
        code="lock_timeout",
        should_retry=True,
    )


def api_error(status: int = 500, should_retry: bool | None = None) -> StripeFailure:
    """5xx ``api_error``: the SDK raises ``APIError`` (and retries unless told not to)."""
    return StripeFailure(
        status,
        "api_error",
        "An unknown error occurred while processing your request (emulated fault).",
        should_retry=should_retry,
    )


def idempotency_mismatch(key: str) -> StripeFailure:
    """400 ``idempotency_error``: the SDK raises ``IdempotencyError``."""
    return StripeFailure(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
    )


def idempotency_conflict(key: str) -> StripeFailure:
    """409: the key's first request is still running. Not saved; the same key can retry."""
    return StripeFailure(
        409,
        "invalid_request_error",
        f"There is currently another in-progress request using this Stripe token "
        f"(idempotency key '{key}'). Please try again later.",
        code="idempotency_key_in_use",
        # Retrying once the first request ends gets its saved answer; stripe-python
        # retries a 409 anyway, so this header only states it.
        should_retry=True,
    )


def unrecognized_url(method: str, path: str) -> StripeFailure:
    """404 for a route the emulator does not serve."""
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). The emulator serves "
        "/v1/payment_intents, /v1/customers and /v1/payment_methods (see its docstring).",
        status=404,
    )
