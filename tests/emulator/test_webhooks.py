"""Bank debits that settle later, and the signed webhook events of every transition.

Sources: https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment ("Test account
numbers"), https://docs.stripe.com/testing (SEPA Direct Debit test IBANs and tokens),
https://docs.stripe.com/payments/paymentintents/lifecycle (processing -> succeeded or
requires_payment_method), https://docs.stripe.com/webhooks (signatures, at-least-once
delivery, retries, no guaranteed order), https://docs.stripe.com/api/events/object.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from stripe_emulator import ManualClock, StripeEmulator
from stripe_emulator.async_payments import BankDebitDelays, lookup
from stripe_emulator.fixtures import create_customer
from tests.emulator.conftest import API_KEY

SECRET = "whsec_test_emulator_secret"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it gets and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, self.headers["Stripe-Signature"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[stripe.Event]:
        """Every delivery, verified and parsed by the SDK as a receiver would."""
        return [
            stripe.Webhook.construct_event(body, header, SECRET) for body, header in self.received
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def hooked(receiver: Receiver) -> Iterator[StripeEmulator]:
    """An emulator whose clock starts now (signatures must be within the SDK's tolerance)
    and stands still, with a webhook endpoint."""
    clock = ManualClock(start=time.time())
    with StripeEmulator(
        API_KEY,
        clock=clock,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        bank_debit_delays=BankDebitDelays(settle_seconds=60, delayed_settle_seconds=180),
    ) as running:
        yield running


def _client(emulator: StripeEmulator) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0)


#: The customer each emulator's charges name, made through its API on first use.
_CUSTOMERS: weakref.WeakKeyDictionary[StripeEmulator, str] = weakref.WeakKeyDictionary()


def _customer(emulator: StripeEmulator) -> str:
    """A real customer of ``emulator`` (Stripe refuses unknown ones), made once."""
    if emulator not in _CUSTOMERS:
        _CUSTOMERS[emulator] = create_customer(emulator.url, API_KEY, payment_method=None).id
    return _CUSTOMERS[emulator]


def _charge(emulator: StripeEmulator, payment_method: str, currency: str = "usd", **extra: Any):
    """An off-session charge of the emulator's customer with ``payment_method``, a test ID
    or bank test token (it becomes a new, unattached PaymentMethod)."""
    params = {
        "amount": 1500,
        "currency": currency,
        "customer": _customer(emulator),
        "payment_method": payment_method,
        "confirm": True,
        "off_session": True,
        "metadata": {"request_id": f"req-{payment_method}"},
        **extra,
    }
    return _client(emulator).v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]  # built from the test's arguments
        options={"idempotency_key": f"k-{payment_method}-{currency}"},
    )


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_an_ach_debit_waits_in_processing_then_succeeds_on_the_clock(
    hooked: StripeEmulator, receiver: Receiver
):
    # GIVEN an off-session charge of Stripe's ACH test account that succeeds
    intent = _charge(hooked, "pm_usBankAccount_success")
    # THEN Stripe answers 200 with the intent processing, nothing received yet
    assert intent.status == "processing"
    assert intent.amount_received == 0
    assert intent.latest_charge.startswith("py_")
    # WHEN the bank's time passes on the emulator's clock
    hooked.advance(59)
    assert _client(hooked).v1.payment_intents.retrieve(intent.id).status == "processing"
    hooked.advance(1)
    # THEN the intent has succeeded
    settled = _client(hooked).v1.payment_intents.retrieve(intent.id)
    assert (settled.status, settled.amount_received) == ("succeeded", 1500)
    # AND the endpoint received payment_intent.processing then payment_intent.succeeded,
    # signed so that the SDK's construct_event verifies them
    _wait_for(lambda: len(receiver.received) == 2)
    events = receiver.events()
    assert [event.type for event in events] == [
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    assert [event.data.object["status"] for event in events] == ["processing", "succeeded"]
    assert hooked.ledger()["by_request_id"]["req-pm_usBankAccount_success"]["created"] == 1


@pytest.mark.parametrize(
    ("payment_method", "currency", "code"),
    [
        ("pm_usBankAccount_accountClosed", "usd", "account_closed"),
        ("pm_usBankAccount_insufficientFunds", "usd", "insufficient_funds"),
        ("pm_usBankAccount_debitNotAuthorized", "usd", "debit_not_authorized"),
        ("pm_sepaDebit_insufficientFunds_de", "eur", "insufficient_funds"),
        ("pm_sepaDebit_failed_fr", "eur", None),
    ],
)
def test_a_failing_bank_debit_goes_back_to_requires_payment_method(
    hooked: StripeEmulator, receiver: Receiver, payment_method: str, currency: str, code: str
):
    intent = _charge(hooked, payment_method, currency)
    assert intent.status == "processing"
    hooked.advance(60)
    failed = _client(hooked).v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    error = failed.last_payment_error.to_dict()
    assert error.get("code") == code
    bank_debit = lookup(payment_method)
    assert bank_debit is not None
    assert error["payment_method"]["type"] == bank_debit.type
    _wait_for(lambda: len(receiver.received) == 2)
    assert receiver.events()[-1].type == "payment_intent.payment_failed"


def test_delayed_sepa_accounts_take_three_minutes_and_processing_ones_never_end(
    hooked: StripeEmulator,
):
    """docs.stripe.com/testing: "Delayed" SEPA accounts settle after about three minutes;
    pm_usBankAccount_processing stays in processing indefinitely."""
    delayed = _charge(hooked, "pm_sepaDebit_successDelayed_de", "eur")
    stuck = _charge(hooked, "pm_usBankAccount_processing")
    hooked.advance(179)
    assert _client(hooked).v1.payment_intents.retrieve(delayed.id).status == "processing"
    hooked.advance(1)
    assert _client(hooked).v1.payment_intents.retrieve(delayed.id).status == "succeeded"
    hooked.advance(30 * 86400)
    assert _client(hooked).v1.payment_intents.retrieve(stuck.id).status == "processing"


def test_a_bank_debit_in_the_wrong_currency_is_refused(hooked: StripeEmulator):
    """ACH debits are in usd, SEPA debits in eur (docs.stripe.com/payments/ach-direct-debit,
    docs.stripe.com/payments/sepa-debit)."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _charge(hooked, "pm_sepaDebit_success_de", "usd")
    assert caught.value.param == "currency"


def test_events_are_stripe_event_objects(hooked: StripeEmulator, receiver: Receiver):
    """docs.stripe.com/api/events/object: id evt_, object, api_version, created, data.object,
    livemode, pending_webhooks, request {id, idempotency_key}, type."""
    intent = _charge(hooked, "pm_card_visa")
    _wait_for(lambda: len(receiver.received) == 1)
    body = json.loads(receiver.received[0][0])
    assert set(body) == {
        "id", "object", "api_version", "created", "data", "livemode", "pending_webhooks",
        "request", "type",
    }  # fmt: skip
    assert body["id"].startswith("evt_") and body["object"] == "event"
    assert body["type"] == "payment_intent.succeeded"
    assert body["data"]["object"]["id"] == intent.id
    assert body["livemode"] is False
    assert body["created"] == int(hooked.now())
    assert body["request"]["idempotency_key"] == "k-pm_card_visa-usd"
    assert body["request"]["id"].startswith("req_")
    assert hooked.events()[0]["id"] == body["id"]


def test_card_declines_send_payment_failed(hooked: StripeEmulator, receiver: Receiver):
    """Stripe sends payment_intent.payment_failed for every PaymentIntent whose attempt
    fails, cards included (docs.stripe.com/payments/paymentintents/lifecycle)."""
    # (pm_card_visa_chargeDeclined: the generic decline of docs.stripe.com/testing; the
    # strict emulator knows no other spelling, as Stripe does not)
    with pytest.raises(stripe.CardError):
        _charge(hooked, "pm_card_visa_chargeDeclined")
    _wait_for(lambda: len(receiver.received) == 1)
    event = receiver.events()[0]
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object["last_payment_error"]["decline_code"] == "generic_decline"


def test_a_forged_or_stale_signature_does_not_verify(hooked: StripeEmulator, receiver: Receiver):
    """docs.stripe.com/webhooks: the SDK verifies the HMAC and the timestamp's tolerance."""
    _charge(hooked, "pm_card_visa")
    _wait_for(lambda: len(receiver.received) == 1)
    body, header = receiver.received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"succeeded", b"failed"), header, SECRET)
    # The same delivery a day later is outside the SDK's 300 s tolerance.
    stale = StripeEmulator(
        API_KEY, clock=ManualClock(start=time.time() - 86400), webhook_url=receiver.url,
        webhook_secret=SECRET,
    )  # fmt: skip
    with stale:
        _charge(stale, "pm_card_visa")
        _wait_for(lambda: len(receiver.received) == 2)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(*receiver.received[1], SECRET)


def test_a_failed_delivery_is_retried_with_backoff_until_it_succeeds(
    hooked: StripeEmulator, receiver: Receiver
):
    """docs.stripe.com/webhooks: non-2xx answers and timeouts are retried (in a sandbox three
    times over a few hours); the emulator's delays are scaled down on its clock."""
    # GIVEN an endpoint that fails twice (500, then 404)
    receiver.statuses = [500, 404]
    _charge(hooked, "pm_card_visa")
    _wait_for(lambda: len(hooked.webhook_deliveries()) == 1)
    # WHEN the backoff passes on the emulator's clock (0.6 s, then 3.6 s, scaled)
    hooked.advance(0.6)
    _wait_for(lambda: len(hooked.webhook_deliveries()) == 2)
    hooked.advance(3.6)
    _wait_for(lambda: len(hooked.webhook_deliveries()) == 3)
    # THEN the third attempt delivered it, each attempt signed afresh and recorded
    attempts = hooked.webhook_deliveries()
    assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
        (1, 500, False),
        (2, 404, False),
        (3, 200, True),
    ]
    assert len({event.id for event in receiver.events()}) == 1
    assert hooked.ledger()["webhooks"]["delivered"] == 1


def test_an_unreachable_endpoint_gets_four_attempts_then_none(receiver: Receiver):
    with StripeEmulator(
        API_KEY, clock=ManualClock(start=time.time()), webhook_url="http://127.0.0.1:9/x",
        webhook_secret=SECRET,
    ) as emulator:  # fmt: skip
        _charge(emulator, "pm_card_visa")
        for seconds in (0, 0.6, 3.6, 10.8, 1000):
            emulator.advance(seconds)
            time.sleep(0.2)
        attempts = emulator.webhook_deliveries()
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["error"] and not a["delivered"] for a in attempts)
    assert attempts[-1]["next_attempt_in"] is None


def test_fault_rules_duplicate_and_reorder_deliveries(hooked: StripeEmulator, receiver: Receiver):
    """Stripe delivers at least once and in no guaranteed order (docs.stripe.com/webhooks):
    fault rules force both."""
    # GIVEN the processing event of one debit delivered twice and held back 100 s
    hooked.add_fault(
        {"kind": "webhook_duplicate", "match": {"event_type": "payment_intent.processing"}}
    )
    hooked.add_fault(
        {
            "kind": "webhook_delay",
            "seconds": 100,
            "match": {"event_type": "payment_intent.processing"},
        }
    )
    intent = _charge(hooked, "pm_usBankAccount_success")
    # WHEN the debit settles before the hold ends, and then the hold ends
    hooked.advance(60)
    _wait_for(lambda: len(receiver.received) == 1)
    hooked.advance(40)
    _wait_for(lambda: len(receiver.received) == 3)
    # THEN succeeded arrived first, then processing twice (the same event ID)
    events = receiver.events()
    assert [event.type for event in events] == [
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.processing",
    ]
    assert events[1].id == events[2].id
    assert all(event.data.object["id"] == intent.id for event in events)
    assert hooked.ledger()["faults"] == {"webhook_duplicate": 1, "webhook_delay": 1}


def test_webhook_endpoints_over_the_control_api_and_the_cli(receiver: Receiver):
    from stripe_emulator import EmulatorControl
    from stripe_emulator.__main__ import parse_args

    args = parse_args(["--webhook-url", receiver.url, "--webhook-secret", SECRET])
    assert (args.webhook_url, args.webhook_secret) == ([receiver.url], SECRET)
    with StripeEmulator(API_KEY, clock=ManualClock(start=time.time())) as emulator:
        control = EmulatorControl(emulator.url)
        endpoint = control.add_webhook_endpoint(receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        assert control.webhook_endpoints() == [endpoint]
        _charge(emulator, "pm_card_visa")
        _wait_for(lambda: len(control.webhook_deliveries()) == 1)
        assert control.events()[0]["type"] == "payment_intent.succeeded"
        body, header = receiver.received[0]
        stripe.Webhook.construct_event(body, header, endpoint["secret"])
        # A reset forgets endpoints added later and every event and delivery.
        control.reset()
        assert control.webhook_endpoints() == [] and control.events() == []


def test_a_bank_account_saved_on_a_customer_is_debited_off_session_and_settles_on_the_clock(
    hooked: StripeEmulator, receiver: Receiver
):
    """docs.stripe.com/payments/ach-direct-debit/set-up-payment (save the account on a
    customer, debit it later off-session), docs.stripe.com/api/payment_methods/attach (a test
    token attaches as a new ``pm_...``), docs.stripe.com/payments/paymentintents/lifecycle
    (processing -> succeeded). Mandates are not modelled (see ``async_payments``)."""
    client = _client(hooked)
    # GIVEN a customer with Stripe's successful ACH test account attached through the API
    saved = create_customer(hooked.url, API_KEY, payment_method="pm_usBankAccount_success")
    assert saved.payment_method is not None
    assert saved.payment_method.startswith("pm_")
    assert saved.payment_method != "pm_usBankAccount_success"
    account = client.v1.payment_methods.retrieve(saved.payment_method)
    assert (account.type, account.customer) == ("us_bank_account", saved.id)
    # WHEN the pipeline's kind of charge debits it: off-session, confirmed, idempotent
    params: Any = {
        "amount": 1500,
        "currency": "usd",
        "customer": saved.id,
        "payment_method": saved.payment_method,
        "confirm": True,
        "off_session": True,
        "metadata": {"request_id": "req-saved-bank"},
    }
    intent = client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "k-saved-bank"}
    )
    # THEN it waits in processing with the saved PaymentMethod, nothing received yet
    assert (intent.status, intent.amount_received) == ("processing", 0)
    assert intent.payment_method == saved.payment_method
    assert "us_bank_account" in intent.payment_method_types
    # AND it succeeds when the bank's time has passed on the emulator's clock, not before
    hooked.advance(59)
    assert client.v1.payment_intents.retrieve(intent.id).status == "processing"
    hooked.advance(1)
    settled = client.v1.payment_intents.retrieve(intent.id)
    assert (settled.status, settled.amount_received) == ("succeeded", 1500)
    # AND the endpoint received both transitions, signed, about this intent
    _wait_for(lambda: len(receiver.received) == 2)
    events = receiver.events()
    assert [event.type for event in events] == [
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    assert all(event.data.object["id"] == intent.id for event in events)
    assert all(event.data.object["payment_method"] == saved.payment_method for event in events)
    # AND the saved account is not spent: an attached PaymentMethod is debited again
    params["metadata"] = {"request_id": "req-saved-bank-2"}
    again = client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "k-saved-bank-2"}
    )
    assert again.status == "processing"


def test_a_saved_bank_account_that_fails_carries_its_payment_method_in_the_error(
    hooked: StripeEmulator,
):
    """API reference, "The PaymentIntent object": ``last_payment_error.payment_method`` is
    the PaymentMethod object that failed; docs.stripe.com/payments/ach-direct-debit/
    accept-a-payment ("Test account numbers": insufficient funds)."""
    client = _client(hooked)
    saved = create_customer(
        hooked.url, API_KEY, payment_method="pm_usBankAccount_insufficientFunds"
    )
    assert saved.payment_method is not None
    params: Any = {
        "amount": 1500,
        "currency": "usd",
        "customer": saved.id,
        "payment_method": saved.payment_method,
        "confirm": True,
        "off_session": True,
    }
    intent = client.v1.payment_intents.create(params=params)
    hooked.advance(60)
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    error = failed.last_payment_error.to_dict()
    assert error["code"] == "insufficient_funds"
    account = client.v1.payment_methods.retrieve(saved.payment_method).to_dict()
    assert error["payment_method"] == account
    assert error["payment_method"]["customer"] == saved.id
