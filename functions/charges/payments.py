"""The Stripe gateway: the only module that imports ``stripe``.

Every charge is an off-session PaymentIntent confirmed at once, sent with an idempotency
key derived from ``request_id`` alone, so the key is the same on every SQS redelivery, every
Lambda retry and every DLQ redrive: if the first attempt reached Stripe, the retry gets the
first attempt's result instead of a second charge (within Stripe's 24-hour key lifetime).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import stripe

from charges.contract import ChargeRequest
from charges.delivery import Delivery
from charges.outcomes import ChargeResult, PoisonMessage, Reason, TransientFailure

#: Pin the API version so a Stripe upgrade cannot change response shapes under us.
STRIPE_API_VERSION = "2026-10-28.endive"

#: Prefix of every Stripe idempotency key; changing it would break dedup of in-flight work.
IDEMPOTENCY_KEY_PREFIX = "chargeq-v1"

# PaymentIntent statuses that mean the money is taken or on its way.
_CHARGED_STATUSES = frozenset({"succeeded", "processing", "requires_capture"})


def idempotency_key(request_id: str, attempt: int = 1) -> str:
    """The Stripe idempotency key for a request: derived from ``request_id`` only.

    ``attempt`` above 1 is used only after Stripe replayed a saved 500 for the first key
    and a look-up found no PaymentIntent (see ``StripeGateway.charge``).
    """
    base = f"{IDEMPOTENCY_KEY_PREFIX}:{request_id}"
    return base if attempt <= 1 else f"{base}:attempt-{attempt}"


#: How far before a message's first enqueue a matching PaymentIntent can have been created
#: (clock skew between SQS and Stripe), when looking one up.
_LOOKUP_MARGIN_SECONDS = 3600


class PaymentGateway(Protocol):
    """What the handler needs from a payment provider."""

    def charge(self, request: ChargeRequest, delivery: Delivery | None = None) -> ChargeResult:
        """Charge once; return charged or declined, or raise Poison/Transient."""
        ...


class StripeGateway:
    """Charges through Stripe's PaymentIntents API.

    One instance per container: the client keeps its HTTP connections alive between
    invocations. ``on_latency`` receives each call's duration in milliseconds (for metrics).
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float,
        max_network_retries: int = 2,
        on_latency: Callable[[float], None] | None = None,
    ) -> None:
        base_addresses: dict[str, str] = {"api": api_base} if api_base else {}
        # The SDK retries connection errors, 409 and 5xx with the same idempotency key,
        # which is safe; more retries than this would not fit the function timeout.
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )
        self._on_latency = on_latency

    def charge(self, request: ChargeRequest, delivery: Delivery | None = None) -> ChargeResult:
        """Charge ``request`` once, or return what an earlier attempt already did.

        When ``delivery`` says an earlier attempt may have reached Stripe beyond what the
        idempotency key covers, the customer's PaymentIntents are searched first.
        """
        if delivery and delivery.may_have_reached_stripe():
            since = delivery.first_sent_ms // 1000 - _LOOKUP_MARGIN_SECONDS
            existing = self.find_existing(request, created_since=since)
            if existing is not None:
                return _result_from_intent(request, existing)
        try:
            return self._create(request, idempotency_key(request.request_id))
        except TransientFailure as failure:
            if not failure.replayed_server_error:
                raise
            # Stripe saved a 500 for our key and replays it forever: look for the charge,
            # and only when there is none try again under the next key. Every later
            # delivery looks first, so a charge made under the new key is found.
            existing = self.find_existing(request, created_since=_created_floor(delivery))
            if existing is not None:
                return _result_from_intent(request, existing)
            attempt = delivery.receive_count if delivery else 1
            return self._create(request, idempotency_key(request.request_id, attempt=attempt))
        except PoisonMessage as poison:
            if poison.reason is not Reason.STRIPE_IDEMPOTENCY_CONFLICT:
                raise
            # The key was used with other parameters (a description or metadata changed
            # between attempts; the payload check already held customer, amount, currency
            # and payment method equal): the earlier attempt's charge is this request's.
            existing = self.find_existing(request, created_since=_created_floor(delivery))
            if existing is None:
                raise
            return _result_from_intent(request, existing)

    def find_existing(self, request: ChargeRequest, *, created_since: int) -> Any | None:
        """The PaymentIntent created for ``request_id``, if any.

        Lists the customer's PaymentIntents by creation time, which is consistent (Stripe's
        Search API is not: a new PaymentIntent can take a minute to appear there).
        """
        started = time.perf_counter()
        try:
            page = self._client.v1.payment_intents.list(
                params={
                    "customer": request.customer,
                    "created": {"gte": created_since},
                    "limit": 100,
                }
            )
            for intent in page.auto_paging_iter():
                metadata = intent.metadata.to_dict() if intent.metadata else {}
                if metadata.get("request_id") == request.request_id:
                    return intent
        except stripe.StripeError as error:
            raise _failure(error) from error
        finally:
            if self._on_latency:
                self._on_latency((time.perf_counter() - started) * 1000)
        return None

    def _create(self, request: ChargeRequest, key: str) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "customer": request.customer,
            "confirm": True,
            "off_session": True,
            "metadata": {**(request.metadata or {}), "request_id": request.request_id},
        }
        if request.payment_method:
            params["payment_method"] = request.payment_method
        if request.description:
            params["description"] = request.description
        started = time.perf_counter()
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": key},
            )
        except stripe.CardError as error:
            return _declined(request, error)
        except stripe.StripeError as error:
            raise _failure(error) from error
        finally:
            if self._on_latency:
                self._on_latency((time.perf_counter() - started) * 1000)
        return _result_from_intent(request, intent)


def _created_floor(delivery: Delivery | None) -> int:
    if delivery is None:
        return int(time.time()) - 2 * 86400
    return delivery.first_sent_ms // 1000 - _LOOKUP_MARGIN_SECONDS


def _result_from_intent(request: ChargeRequest, intent: Any) -> ChargeResult:
    """The outcome a PaymentIntent stands for, whether just created or found again."""
    charged = intent.status in _CHARGED_STATUSES
    error = getattr(intent, "last_payment_error", None)
    return ChargeResult(
        request_id=request.request_id,
        outcome="charged" if charged else "declined",
        payment_intent_id=intent.id,
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        error_code=None if charged or not error else getattr(error, "code", None),
        decline_code=None if charged or not error else getattr(error, "decline_code", None),
    )


def _declined(request: ChargeRequest, error: stripe.CardError) -> ChargeResult:
    """A decline (``authentication_required`` included) is a final, stored outcome."""
    details = error.error
    intent = getattr(details, "payment_intent", None) if details else None
    return ChargeResult(
        request_id=request.request_id,
        outcome="declined",
        payment_intent_id=getattr(intent, "id", None),
        status=getattr(intent, "status", None) or "requires_payment_method",
        amount=request.amount,
        currency=request.currency,
        error_code=error.code,
        decline_code=getattr(details, "decline_code", None) if details else None,
    )


def _failure(error: stripe.StripeError) -> PoisonMessage | TransientFailure:
    """Stripe errors other than declines, by whether a later attempt can succeed."""
    status = error.http_status
    if isinstance(error, stripe.IdempotencyError):
        return PoisonMessage(Reason.STRIPE_IDEMPOTENCY_CONFLICT, error.user_message or "")
    if isinstance(error, stripe.RateLimitError):
        return TransientFailure(Reason.STRIPE_RATE_LIMITED, "429 from Stripe")
    if isinstance(error, stripe.APIConnectionError):
        # The request may or may not have reached Stripe: the same key on retry finds out.
        return TransientFailure(Reason.STRIPE_UNREACHABLE, type(error).__name__)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        # A wrong or revoked key: an operator must fix the secret; keep the message.
        return TransientFailure(Reason.STRIPE_AUTHENTICATION, f"{status} from Stripe")
    if isinstance(error, stripe.InvalidRequestError):
        # A 4xx about the request itself (no such customer, bad parameter) repeats forever.
        code = error.code or "invalid_request"
        return PoisonMessage(Reason.STRIPE_INVALID_REQUEST, f"{status} {code}")
    replayed = (error.headers or {}).get("idempotent-replayed") == "true"
    return TransientFailure(
        Reason.STRIPE_SERVER_ERROR, f"{status} from Stripe", replayed_server_error=replayed
    )
