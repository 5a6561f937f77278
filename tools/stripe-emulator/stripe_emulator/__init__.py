"""A Stripe PaymentIntents API emulator: a real HTTP server for the unmodified ``stripe``
SDK, keeping Stripe's documented semantics, with fault injection and a ledger.

Point the SDK at it::

    with StripeEmulator(api_key="sk_test_x") as emulator:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
        client.v1.payment_intents.create(params={...}, options={"idempotency_key": "k"})
        emulator.ledger()["by_request_id"]

or run it in its own process: ``python -m stripe_emulator --port 0 --api-key sk_test_x
[--rate-limits live] [--webhook-url URL --webhook-secret whsec_...]`` prints ``{"url": ...,
"webhook_endpoints": [...]}`` on one line when ready, and ``EmulatorControl(url)`` programs it.

Endpoints: ``POST /v1/payment_intents`` (``confirm=true`` charges at once),
``GET /v1/payment_intents/{id}``, ``GET /v1/payment_intents`` (``customer``,
``created[gt|gte|lt|lte]``, ``limit`` 1-100 (default 10), ``starting_after``,
``ending_before``; newest first). Anything else: 404. A missing or wrong API key: 401.

Idempotency (docs.stripe.com/api/idempotent_requests): a POST's ``Idempotency-Key`` (at most
255 characters) saves the first executed response (200, 402, and injected 500s after
execution) and replays it with ``Idempotent-Replayed: true``; other parameters under the
same key: 400 ``idempotency_error``; the key's first request still running: 409. Nothing is
saved for 400 validation errors, 401, 409 or 429. Keys 24 hours old on the emulator's clock
are pruned: the same key then executes again (and can create a second PaymentIntent).

Test payment methods (Stripe's own test IDs)::

    pm_card_visa, any other pm_...            succeeds: status "succeeded"
    pm_card_chargeDeclined                    402 card_declined / generic_decline
    pm_card_chargeDeclinedInsufficientFunds   402 card_declined / insufficient_funds
    pm_card_chargeDeclinedLostCard            402 card_declined / lost_card
    pm_card_chargeDeclinedStolenCard          402 card_declined / stolen_card
    pm_card_chargeDeclinedFraudulent          402 card_declined / fraudulent
    pm_card_chargeDeclinedExpiredCard         402 expired_card
    pm_card_chargeDeclinedIncorrectCvc        402 incorrect_cvc
    pm_card_chargeDeclinedProcessingError     402 processing_error
    pm_card_authenticationRequired            off_session: 402 authentication_required;
                                              on-session: 200, status "requires_action"
    anything not starting with pm_            400 resource_missing (param payment_method)

A declined PaymentIntent is created (status ``requires_payment_method``, with
``last_payment_error``) and the 402 carries it as ``error.payment_intent``, as Stripe does.

Test customers (this emulator's convention; charged with their payment method on file when
the request names none)::

    cus_decline...   declines like pm_card_chargeDeclined
    cus_auth...      needs authentication like pm_card_authenticationRequired
    cus_missing...   400 resource_missing: no such customer
    any other        succeeds with pm_card_visa

Bank debits (:mod:`stripe_emulator.async_payments`): Stripe's ACH and SEPA test payment
methods (``pm_usBankAccount_success``, ``pm_usBankAccount_insufficientFunds``, ...,
``pm_sepaDebit_success_de``, ``pm_sepaDebit_failedDelayed_fr``, ...) leave the intent in
``processing``; on the emulator's clock it later becomes ``succeeded``, or goes back to
``requires_payment_method`` with ``last_payment_error`` (delays configurable; a
``ManualClock`` jumps with ``advance``).

Events and webhooks (:mod:`stripe_emulator.webhooks`): ``payment_intent.processing``,
``payment_intent.succeeded`` and ``payment_intent.payment_failed`` (cards and bank debits)
as Stripe Event objects, POSTed to each ``webhook_url`` with ``Stripe-Signature`` (HMAC-SHA256
with the endpoint's ``whsec_`` secret; the SDK's ``Webhook.construct_event`` verifies it), at
least once, retried with backoff on the emulator's clock, duplicated or reordered by fault
rules; every attempt is in a ledger (``webhook_deliveries()``).

Rate limits (:mod:`stripe_emulator.ratelimit`), on by default at a sandbox's figures: 25
requests/s for the account and 25/s per endpoint (``live``: 100/s for the account), over a
sliding one-second window on the emulator's clock: 429 ``rate_limit``. A write to an object
another request is writing: 429 ``lock_timeout`` with ``Stripe-Should-Retry: true``.

Not modelled: customers and payment methods as objects, currencies' minimum amounts,
``Stripe-Version`` checks (other work); the concurrency limiter, the Payment Intents limit of
1,000 updates per intent per hour (no update endpoint here); mandates, microdeposits and
disputes of bank debits; events other than the three above (``payment_intent.created``,
``charge.*``), ``GET /v1/events`` and webhook endpoint objects in the API (endpoints are set
through the constructor, the CLI or the control API); Stripe's real retry intervals (not
published: three retries over a few hours in a sandbox, scaled down here).

Faults: see :mod:`stripe_emulator.faults` for the rule format; the control API over HTTP
is listed in :mod:`stripe_emulator.control_routes`.
"""

from stripe_emulator.async_payments import BankDebitDelays
from stripe_emulator.clock import Clock, ManualClock, SystemClock
from stripe_emulator.control import EmulatorControl, EmulatorControlError
from stripe_emulator.emulator import DEFAULT_API_KEY, StripeEmulator
from stripe_emulator.faults import KINDS as FAULT_KINDS
from stripe_emulator.faults import FaultMatch, FaultRule
from stripe_emulator.idempotency import KEY_LIFETIME_SECONDS
from stripe_emulator.ratelimit import LIVE, SANDBOX, RateLimits

__all__ = [
    "DEFAULT_API_KEY",
    "FAULT_KINDS",
    "KEY_LIFETIME_SECONDS",
    "LIVE",
    "SANDBOX",
    "BankDebitDelays",
    "Clock",
    "EmulatorControl",
    "EmulatorControlError",
    "FaultMatch",
    "FaultRule",
    "ManualClock",
    "RateLimits",
    "StripeEmulator",
    "SystemClock",
]
