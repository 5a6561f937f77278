"""The Stripe gateway: the only module that imports ``stripe``.

Every charge is an off-session PaymentIntent confirmed at once, with an explicit payment
method and an idempotency key derived from ``request_id`` and the attempt number alone, so
the key is the same on every SQS redelivery, every Lambda retry and every DLQ redrive of
one attempt: if the attempt reached Stripe, the retry gets its result instead of a second
charge (within Stripe's 24-hour key lifetime). Beyond the key, the claim's evidence
(``charges.claims``) has the gateway look Stripe up first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from charges.contract import ChargeRequest
from charges.declines import is_soft_decline
from charges.outcomes import (
    ChargeResult,
    PoisonMessage,
    Reason,
    TransientFailure,
    settle_decline,
)
from charges.rate_limits import StripePacer

#: Pin the API version so a Stripe upgrade cannot change response shapes under us.
STRIPE_API_VERSION = "2026-10-28.endive"

#: Prefix of every Stripe idempotency key; changing it would break dedup of in-flight work.
IDEMPOTENCY_KEY_PREFIX = "chargeq-v1"

# PaymentIntent statuses that mean the money is taken.
_CHARGED_STATUSES = frozenset({"succeeded", "requires_capture"})
#: A PaymentIntent whose payment is on its way (bank debits): not yet a success.
_PENDING_STATUS = "processing"


def idempotency_key(request_id: str, attempt: int = 0) -> str:
    """The Stripe idempotency key of one attempt: ``chargeq-v1:<request_id>`` for attempt 0,
    ``chargeq-v1:<request_id>:attempt-<n>`` for attempt n after n soft declines."""
    base = f"{IDEMPOTENCY_KEY_PREFIX}:{request_id}"
    return base if attempt <= 0 else f"{base}:attempt-{attempt}"


class PaymentGateway(Protocol):
    """What the handler needs from a payment provider."""

    def charge(self, request: ChargeRequest, *, look_up_first: bool) -> ChargeResult:
        """Charge once; return charged, declined or pending, or raise Poison/Transient."""
        ...


@dataclass(frozen=True)
class EarlierAttempts:
    """What the look-up found for a request: a final result, or the next attempt's number.

    ``attempt`` is the number of soft-declined PaymentIntents found (``charges.declines``).
    """

    result: ChargeResult | None
    attempt: int


def judge_earlier_attempts(
    request: ChargeRequest, intents: Iterable[Any], soft_decline_attempts: int
) -> EarlierAttempts:
    """Decide from the PaymentIntents made for ``request`` (newest first) what to do.

    A succeeded one is the charge (``charged``); else a processing one is ``pending``; a
    hard decline was final; ``soft_decline_attempts`` soft declines are final too; else
    the next attempt is numbered by the soft declines. Raises ``PoisonMessage``
    (``payload_conflict``) when one was made for another customer, amount or currency:
    Powertools does not validate the payload on a takeover, so this is where a reused
    ``request_id`` is caught.
    """
    intents = list(intents)
    for intent in intents:
        if (_customer_id(intent), intent.amount, intent.currency) != (
            request.customer,
            request.amount,
            request.currency,
        ):
            raise PoisonMessage(
                Reason.PAYLOAD_CONFLICT,
                f"PaymentIntent {intent.id} was made for this request_id with a different "
                "customer, amount or currency",
            )
    for wanted in (_CHARGED_STATUSES, {_PENDING_STATUS}):
        for intent in intents:
            if intent.status in wanted:
                return EarlierAttempts(_result_from_intent(request, intent), 0)
    soft = []
    for intent in intents:
        error = getattr(intent, "last_payment_error", None)
        if error is None:
            continue  # never confirmed, or cancelled: no decline to count
        if not is_soft_decline(getattr(error, "code", None), getattr(error, "decline_code", None)):
            return EarlierAttempts(_result_from_intent(request, intent), 0)
        soft.append(intent)
    if len(soft) >= soft_decline_attempts:
        return EarlierAttempts(_result_from_intent(request, soft[0]), len(soft))
    return EarlierAttempts(None, len(soft))


class StripeGateway:
    """Charges through Stripe's PaymentIntents API.

    One instance per container: the client keeps its HTTP connections alive between
    invocations, and ``pacer`` (``charges.rate_limits``) keeps its requests within the
    container's share of Stripe's rate limits. ``on_latency`` receives each call's duration
    in milliseconds (for metrics).
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float,
        soft_decline_attempts: int,
        pacer: StripePacer,
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
            http_client=PacedRequestsClient(pacer, timeout=timeout_seconds),
        )
        self._soft_decline_attempts = soft_decline_attempts
        self._on_latency = on_latency

    def charge(self, request: ChargeRequest, *, look_up_first: bool) -> ChargeResult:
        """Charge ``request`` once, or return what an earlier attempt already did.

        ``look_up_first`` is the claim's evidence that an earlier attempt may have reached
        Stripe (a takeover); without it (a fresh claim) Stripe is not listed and the
        attempt is the first.
        """
        attempt = 0
        if look_up_first:
            earlier = judge_earlier_attempts(
                request, self.find_existing(request), self._soft_decline_attempts
            )
            if earlier.result is not None:
                return earlier.result
            attempt = earlier.attempt
        payment_method = request.payment_method or self.default_payment_method(request.customer)
        try:
            result = self._create(request, payment_method, attempt)
        except TransientFailure as failure:
            if failure.reason is not Reason.STRIPE_SERVER_ERROR:
                raise
            # A 5xx from a create may come after Stripe began executing it, and Stripe
            # saves such a 500 for the key and tells the SDK not to retry it
            # (Stripe-Should-Retry: false; docs.stripe.com/error-low-level). Take the
            # PaymentIntent it created if there is one; else stay transient under the same
            # key (another key could make a second charge).
            return self._earlier_result(request, failure)
        except PoisonMessage as poison:
            if poison.reason is not Reason.STRIPE_IDEMPOTENCY_CONFLICT:
                raise
            # The key was used with other parameters (a description or metadata changed
            # between attempts): the earlier attempt's charge is this request's.
            return self._earlier_result(request, poison)
        return settle_decline(result, attempt, self._soft_decline_attempts)

    def default_payment_method(self, customer: str) -> str:
        """The customer's ``invoice_settings.default_payment_method``, else its
        ``default_source``; ``PoisonMessage`` (``no_payment_method``) when it has neither.

        Stripe's ``confirm=true`` without ``payment_method`` falls back only to the legacy
        ``default_source`` (docs.stripe.com/api/payment_intents/create), so the default is
        read and passed explicitly.
        """
        started = time.perf_counter()
        try:
            found = self._client.v1.customers.retrieve(customer)
        except stripe.StripeError as error:
            raise _failure(error) from error
        finally:
            self._record_latency(started)
        settings = getattr(found, "invoice_settings", None)
        choices = (
            getattr(settings, "default_payment_method", None),
            getattr(found, "default_source", None),
        )
        for choice in choices:
            if choice:
                return choice if isinstance(choice, str) else str(choice.id)
        raise PoisonMessage(
            Reason.NO_PAYMENT_METHOD,
            "the request names no payment_method and the customer has neither "
            "invoice_settings.default_payment_method nor default_source",
        )

    def find_existing(self, request: ChargeRequest) -> list[Any]:
        """The PaymentIntents made for ``request_id``, newest first.

        Lists the customer's PaymentIntents (a consistent listing; Stripe's Search API can
        lag a minute behind), all of them: no ``created`` lower bound is sound. The record a
        claim takes over dates only the *last* claim (each claim rewrites its expiration),
        a chain of claims (redeliveries, redrives) can span any time, and SQS's
        ``SentTimestamp`` restarts on a redrive. Cost: one request per 100 of the
        customer's PaymentIntents, only after a takeover.
        """
        started = time.perf_counter()
        found = []
        try:
            page = self._client.v1.payment_intents.list(
                params={"customer": request.customer, "limit": 100}
            )
            for intent in page.auto_paging_iter():
                metadata = intent.metadata.to_dict() if intent.metadata else {}
                if metadata.get("request_id") == request.request_id:
                    found.append(intent)
        except stripe.StripeError as error:
            raise _failure(error) from error
        finally:
            self._record_latency(started)
        return found

    def _earlier_result(
        self, request: ChargeRequest, failure: PoisonMessage | TransientFailure
    ) -> ChargeResult:
        earlier = judge_earlier_attempts(
            request, self.find_existing(request), self._soft_decline_attempts
        )
        if earlier.result is None:
            raise failure
        return earlier.result

    def _create(self, request: ChargeRequest, payment_method: str, attempt: int) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "customer": request.customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": {
                **(request.metadata or {}),
                "request_id": request.request_id,
                "attempt": str(attempt),
            },
        }
        if request.description:
            params["description"] = request.description
        started = time.perf_counter()
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key(request.request_id, attempt)},
            )
        except stripe.CardError as error:
            return _declined(request, error)
        except stripe.StripeError as error:
            raise _failure(error) from error
        finally:
            self._record_latency(started)
        return _result_from_intent(request, intent)

    def _record_latency(self, started: float) -> None:
        if self._on_latency:
            self._on_latency((time.perf_counter() - started) * 1000)


#: Times a request refused for Stripe's rate limit is sent again within the invocation.
RATE_LIMIT_RETRIES = 2


class PacedRequestsClient(stripe.RequestsClient):
    """The SDK's HTTP client, with every request (the SDK's own retries included) waiting
    for its turn within the container's share of Stripe's rate limits.

    A 429 ``rate_limit`` is sent again after a back-off, up to ``RATE_LIMIT_RETRIES``
    times, below the SDK (which does not retry it: Stripe sends no
    ``Stripe-Should-Retry: true``). It is safe: Stripe's limiter refuses a request before
    it runs, so nothing was saved for its idempotency key (docs.stripe.com/idempotency:
    results are saved only once an endpoint began executing). Without it, a request
    refused in a crowded second would wait out the queue's visibility timeout. A 429
    ``lock_timeout`` carries ``Stripe-Should-Retry: true`` and is the SDK's to retry.
    """

    def __init__(self, pacer: StripePacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pacer = pacer

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        attempt = 0
        while True:
            self._pacer.wait_turn(method, url)
            content, status, answer_headers = super().request(method, url, headers, post_data)
            if attempt == RATE_LIMIT_RETRIES or not _refused_for_rate_limit(status, content):
                return content, status, answer_headers
            self._pacer.back_off(attempt)
            attempt += 1


def _refused_for_rate_limit(status: int, content: Any) -> bool:
    """A 429 whose error code is ``rate_limit`` (not ``lock_timeout``)."""
    if status != 429:
        return False
    try:
        return bool(json.loads(content)["error"]["code"] == "rate_limit")
    except (ValueError, TypeError, KeyError):
        return False


def _customer_id(intent: Any) -> str | None:
    customer = getattr(intent, "customer", None)
    return customer if isinstance(customer, str) or customer is None else customer.id


def _result_from_intent(request: ChargeRequest, intent: Any) -> ChargeResult:
    """The outcome a PaymentIntent stands for, whether just created or found again."""
    if intent.status in _CHARGED_STATUSES:
        outcome = "charged"
    elif intent.status == _PENDING_STATUS:
        outcome = "pending"
    else:
        outcome = "declined"
    error = getattr(intent, "last_payment_error", None) if outcome == "declined" else None
    return ChargeResult(
        request_id=request.request_id,
        outcome=outcome,
        customer=request.customer,
        payment_intent_id=intent.id,
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        error_code=getattr(error, "code", None) if error else None,
        decline_code=getattr(error, "decline_code", None) if error else None,
    )


def _declined(request: ChargeRequest, error: stripe.CardError) -> ChargeResult:
    """A decline (``authentication_required`` included) is a result, stored unless soft."""
    details = error.error
    intent = getattr(details, "payment_intent", None) if details else None
    return ChargeResult(
        request_id=request.request_id,
        outcome="declined",
        customer=request.customer,
        payment_intent_id=getattr(intent, "id", None),
        status=getattr(intent, "status", None) or "requires_payment_method",
        amount=request.amount,
        currency=request.currency,
        error_code=error.code,
        decline_code=getattr(details, "decline_code", None) if details else None,
    )


def _error_code(error: stripe.StripeError) -> str | None:
    details = error.error
    return error.code or (getattr(details, "code", None) if details else None)


def _failure(error: stripe.StripeError) -> PoisonMessage | TransientFailure:
    """Stripe errors other than declines, by whether a later attempt can succeed."""
    status = error.http_status
    code = _error_code(error)
    if isinstance(error, stripe.IdempotencyError):
        return PoisonMessage(Reason.STRIPE_IDEMPOTENCY_CONFLICT, error.user_message or "")
    if isinstance(error, stripe.RateLimitError):
        if code == "lock_timeout":
            # Another request was writing the same object (the customer): not the
            # account's rate limit (docs.stripe.com/rate-limits, "Object lock timeouts").
            return TransientFailure(Reason.STRIPE_LOCK_TIMEOUT, "429 lock_timeout from Stripe")
        return TransientFailure(Reason.STRIPE_RATE_LIMITED, "429 from Stripe")
    if status == 409 and code == "idempotency_key_in_use":
        # Another request with this key is still running at Stripe (docs.stripe.com/
        # error-codes#idempotency-key-in-use); it finishes, and the retry gets its result.
        return TransientFailure(
            Reason.STRIPE_IDEMPOTENCY_KEY_IN_USE, "409 idempotency_key_in_use from Stripe"
        )
    if isinstance(error, stripe.APIConnectionError):
        # The request may or may not have reached Stripe: the same key on retry finds out.
        return TransientFailure(Reason.STRIPE_UNREACHABLE, type(error).__name__)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        # A wrong or revoked key: an operator must fix the secret; keep the message.
        return TransientFailure(Reason.STRIPE_AUTHENTICATION, f"{status} from Stripe")
    if isinstance(error, stripe.InvalidRequestError):
        # A 4xx about the request itself (no such customer, bad parameter) repeats forever.
        return PoisonMessage(Reason.STRIPE_INVALID_REQUEST, f"{status} {code or 'invalid'}")
    return TransientFailure(Reason.STRIPE_SERVER_ERROR, f"{status} from Stripe")
