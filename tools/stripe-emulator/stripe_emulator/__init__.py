"""A Stripe API emulator for PaymentIntents, customers and payment methods: a real HTTP
server for the unmodified ``stripe`` SDK, at least as strict as Stripe on what the pipeline
touches, with fault injection and a ledger. docs/fidelity.md lists each modelled behaviour
with its source and its test.

Point the SDK at it::

    with StripeEmulator(api_key="sk_test_x") as emulator:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
        saved = create_customer(emulator.url, "sk_test_x")  # stripe_emulator.fixtures
        client.v1.payment_intents.create(
            params={"amount": 1500, "currency": "usd", "customer": saved.id,
                    "payment_method": saved.payment_method, "confirm": True,
                    "off_session": True},
            options={"idempotency_key": "k"},
        )
        emulator.ledger()["by_request_id"]

or run it in its own process: ``python -m stripe_emulator --port 0 --api-key sk_test_x
[--rate-limits live] [--webhook-url URL --webhook-secret whsec_...]`` prints ``{"url": ...,
"webhook_endpoints": [...]}`` on one line when ready, and ``EmulatorControl(url)`` programs it.

What it models:

* Endpoints: ``POST /v1/payment_intents`` (``confirm=true`` charges at once),
  ``GET /v1/payment_intents/{id}``, ``GET /v1/payment_intents`` (``customer``,
  ``created[gt|gte|lt|lte]``, ``limit`` 1-100, cursors; newest first), ``POST/GET
  /v1/customers[/{id}]``, ``POST /v1/payment_methods/{id}/attach``,
  ``GET /v1/payment_methods/{id}``. Anything else: 404. A missing or wrong API key: 401.
* Customers and payment methods (:mod:`stripe_emulator.customers`): attaching a test ID
  makes a new ``pm_...``; a PaymentMethod of another customer is refused; unknown IDs are
  ``resource_missing``; without ``payment_method`` a PaymentIntent charges the customer's
  ``default_source`` only, never ``invoice_settings.default_payment_method`` (400
  ``payment_intent_unexpected_state``). No magic customers: make them through the API
  (:func:`stripe_emulator.fixtures.create_customer`).
* Test cards (:mod:`stripe_emulator.cards`): the ``pm_card_...`` and ``tok_...`` IDs of
  docs.stripe.com/testing, the whole "Declined payments" table with its codes (a decline
  is a 402 carrying the PaymentIntent, left in ``requires_payment_method``), declining
  cards that cannot be attached, ``pm_card_chargeCustomerFail``, 3D Secure off-session.
* Amounts and currencies (:mod:`stripe_emulator.currencies`): minimum charge amounts
  (``amount_too_small``), maxima (``amount_too_large``), zero-decimal JPY, 24 currencies.
* ``Stripe-Version`` (:mod:`stripe_emulator.versions`): unknown versions are a 400.
* Idempotency (docs.stripe.com/api/idempotent_requests): a POST's ``Idempotency-Key``
  (at most 255 characters) saves the first executed response (200, 400/402 from execution,
  injected 500s after execution) and replays it with ``Idempotent-Replayed: true`` and
  ``Original-Request``; other parameters under the same key: 400 ``idempotency_error``; the
  key's first request still running: 409 ``idempotency_key_in_use``. Nothing is saved for
  400 validation errors, 401, 409 or 429. Keys 24 hours old on the emulator's clock are
  pruned: the same key then executes again (and can create a second PaymentIntent).
* Headers: ``Request-Id`` on every answer; ``Stripe-Should-Retry: false`` on a saved or
  replayed 500, ``true`` on a 409; ``code`` on parameter errors (``parameter_unknown``,
  ``parameter_missing``). Objects carry the fields the pinned SDK declares.

What it does not model: other endpoints (confirm, capture, cancel, refunds, Search, setup
intents, events and webhooks), other payment method types (bank debits, wallets), Radar,
Connect, currency conversion (only currencies with a minimum of their own are accepted),
live mode. Where Stripe's exact behaviour is unknown it does the stricter thing, and the
source or the assumption is named where it is modelled.

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
