"""``StripeEmulator``: the state, the API and the HTTP server, started in a thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from stripe_emulator.api import StripeApi
from stripe_emulator.async_payments import BankDebitDelays
from stripe_emulator.clock import Clock
from stripe_emulator.faults import FaultRule
from stripe_emulator.ratelimit import RateLimits
from stripe_emulator.server import EmulatorHTTPServer
from stripe_emulator.state import EmulatorState, Settings
from stripe_emulator.versions import DEFAULT_API_VERSION
from stripe_emulator.webhooks import DEFAULT_BACKOFF_SCALE, WebhookEndpoint, WebhookSender

logger = logging.getLogger("stripe_emulator")

DEFAULT_API_KEY = "sk_test_emulator"


class StripeEmulator:
    """A Stripe PaymentIntents API on 127.0.0.1, with fault injection and a ledger.

    ``api_key`` (and any ``extra_api_keys``) are the secret keys it accepts; idempotency
    keys are scoped per API key. ``clock`` stamps objects and ages idempotency keys
    (default: wall-clock time, movable with :meth:`advance`). ``seed`` makes probability
    faults and latency jitter reproducible. ``latency_ms`` +/- ``jitter_ms`` delays every
    request. ``rate_limits`` are Stripe's (``ratelimit.py``): ``"sandbox"`` (the default:
    25 requests/s for the account and per endpoint, lock timeouts), ``"live"`` (100/s for
    the account), ``"off"``, or a ``RateLimits``. ``bank_debit_delays`` are how long bank
    debits stay ``processing`` on the emulator's clock (``async_payments.py``).
    ``webhook_url`` (one URL or several) receives the events signed with ``webhook_secret``
    (default: a new ``whsec_...``; see :meth:`webhook_endpoints`); failed deliveries are
    retried after delays scaled by ``webhook_backoff_scale`` (``webhooks.py``).
    ``port`` 0 picks a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The control
    methods are the same as :class:`stripe_emulator.EmulatorControl`'s.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        rate_limits: RateLimits | str | Mapping[str, Any] | None = "sandbox",
        bank_debit_delays: BankDebitDelays | None = None,
        webhook_url: str | Iterable[str] | None = None,
        webhook_secret: str | None = None,
        webhook_backoff_scale: float = DEFAULT_BACKOFF_SCALE,
        extra_api_keys: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        settings = Settings(
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            rate_limits=RateLimits.parse(rate_limits),
            seed=seed,
            bank_debit_delays=bank_debit_delays or BankDebitDelays(),
            webhook_endpoints=_endpoints(webhook_url, webhook_secret),
            webhook_backoff_scale=webhook_backoff_scale,
            api_version=DEFAULT_API_VERSION,
        )
        self._state = EmulatorState([api_key, *extra_api_keys], settings, clock)
        self._address = (host, port)
        self._stopping = threading.Event()
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sender: WebhookSender | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (for ``base_addresses={"api": url}``)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeEmulator:
        """Bind the port and serve in a background thread; returns at once, ready."""
        if self._server is not None:
            return self
        self._stopping.clear()
        api = StripeApi(self._state, self._wait)
        self._server = EmulatorHTTPServer(self._address, self._state, api)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stripe-emulator",
            daemon=True,
        )
        self._thread.start()
        self._sender = WebhookSender(self._state.tick, self._state.now, self._state.record_delivery)
        self._sender.start()
        logger.info("Stripe emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving: wake sleeping requests, close the port and every connection."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        if self._sender is not None:
            self._sender.stop()
            self._sender = None
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StripeEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait(self, seconds: float) -> bool:
        # Sleeps end early when the emulator stops, so a hung request cannot outlive it.
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    # -- control (the same methods as EmulatorControl) -------------------------------------

    def ledger(self) -> dict[str, Any]:
        """Counts of PaymentIntents by request_id, requests and faults (see ``ledger.py``)."""
        return self._state.ledger()

    def double_charges(self) -> list[str]:
        """Request IDs with more than one succeeded PaymentIntent."""
        return list(self._state.ledger()["double_charges"])

    def payment_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent, oldest first."""
        return self._state.payment_intents()

    def reset(self, seed: int | None = None) -> None:
        """Forget intents, keys, ledger and faults; the clock and settings go back to the
        start. ``seed`` replaces the fault seed until the next reset."""
        self._state.reset(seed)

    def add_fault(self, rule: FaultRule | Mapping[str, Any]) -> str:
        """Add a fault rule (a ``FaultRule`` or its dict form); returns its ID."""
        if not isinstance(rule, FaultRule):
            rule = FaultRule.from_dict(rule)
        return self._state.add_fault(rule)

    def remove_fault(self, rule_id: str) -> bool:
        """Remove one fault rule; False if there was none with that ID."""
        return self._state.remove_fault(rule_id)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._state.clear_faults()

    def faults(self) -> list[dict[str, Any]]:
        """The rules in force, each with ``id``, ``remaining`` and ``injected``."""
        return self._state.faults()

    def now(self) -> float:
        """The emulator's clock, unix seconds."""
        return self._state.now()

    def advance(self, seconds: float) -> float:
        """Move the clock forward (e.g. past the 24-hour key lifetime); returns the time."""
        return self._state.advance(seconds)

    def set_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        """Delay every request by ``ms`` +/- ``jitter_ms``."""
        self._state.set_latency(ms, jitter_ms)

    def set_rate_limits(self, limits: RateLimits | str | Mapping[str, Any] | None) -> None:
        """Stripe's rate limits: ``"sandbox"``, ``"live"``, ``"off"`` (or None), a
        ``RateLimits`` or its dict form."""
        self._state.set_rate_limits(RateLimits.parse(limits))

    def add_webhook_endpoint(self, url: str, secret: str | None = None) -> dict[str, str]:
        """Send later events to ``url`` too; returns ``{"id", "url", "secret"}``."""
        endpoint = WebhookEndpoint(url, secret) if secret else WebhookEndpoint(url)
        self._state.add_webhook_endpoint(endpoint)
        return endpoint.to_dict()

    def webhook_endpoints(self) -> list[dict[str, str]]:
        """The endpoints events go to, each ``{"id", "url", "secret"}``."""
        return self._state.webhook_endpoints()

    def events(self) -> list[dict[str, Any]]:
        """Every Event made since the last reset, oldest first."""
        return self._state.events()

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt (see ``webhooks.Outbox.record``)."""
        return self._state.webhook_deliveries()


def _endpoints(urls: str | Iterable[str] | None, secret: str | None) -> tuple[WebhookEndpoint, ...]:
    if urls is None:
        return ()
    if isinstance(urls, str):
        urls = [urls]
    return tuple(WebhookEndpoint(url, secret) if secret else WebhookEndpoint(url) for url in urls)
