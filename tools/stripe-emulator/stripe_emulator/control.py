"""``EmulatorControl``: the control API from another process (urllib, no dependencies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from stripe_emulator.faults import FaultRule
from stripe_emulator.ratelimit import RateLimits


class EmulatorControlError(RuntimeError):
    """The control API refused a call (``status`` is its HTTP status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class EmulatorControl:
    """Programs a running emulator over HTTP: the methods of ``StripeEmulator``'s control.

    ``url`` is the emulator's base URL (what ``python -m stripe_emulator`` prints).
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP URL: {url!r}")
        self.url = url.rstrip("/")
        self._timeout = timeout

    def health(self) -> bool:
        """True when the emulator answers."""
        try:
            return bool(self._call("GET", "health").get("ok"))
        except (OSError, EmulatorControlError):
            return False

    def ledger(self) -> dict[str, Any]:
        """Counts of PaymentIntents by request_id, requests and faults."""
        return self._call("GET", "ledger")

    def double_charges(self) -> list[str]:
        """Request IDs with more than one succeeded PaymentIntent."""
        return list(self.ledger()["double_charges"])

    def payment_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent, oldest first."""
        return list(self._call("GET", "payment_intents")["data"])

    def reset(self, seed: int | None = None) -> None:
        """Forget intents, keys, ledger and faults; clock and settings back to the start."""
        self._call("POST", "reset", {} if seed is None else {"seed": seed})

    def add_fault(self, rule: FaultRule | Mapping[str, Any]) -> str:
        """Add a fault rule (a ``FaultRule`` or its dict form); returns its ID."""
        document = rule.to_dict() if isinstance(rule, FaultRule) else dict(rule)
        return str(self._call("POST", "faults", document)["id"])

    def remove_fault(self, rule_id: str) -> bool:
        """Remove one fault rule; False if there was none with that ID."""
        try:
            self._call("DELETE", f"faults/{rule_id}")
        except EmulatorControlError as error:
            if error.status == 404:
                return False
            raise
        return True

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "faults")

    def faults(self) -> list[dict[str, Any]]:
        """The rules in force, each with ``id``, ``remaining`` and ``injected``."""
        return list(self._call("GET", "faults")["data"])

    def now(self) -> float:
        """The emulator's clock, unix seconds."""
        return float(self._call("GET", "clock")["now"])

    def advance(self, seconds: float) -> float:
        """Move the emulator's clock forward; returns the new time."""
        return float(self._call("POST", "clock/advance", {"seconds": seconds})["now"])

    def set_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        """Delay every request by ``ms`` +/- ``jitter_ms``."""
        self._call("POST", "latency", {"ms": ms, "jitter_ms": jitter_ms})

    def set_rate_limits(self, limits: RateLimits | str | Mapping[str, Any] | None) -> None:
        """Stripe's rate limits: ``"sandbox"``, ``"live"``, ``"off"`` (or None), a
        ``RateLimits`` or its dict form."""
        document = RateLimits.parse(limits).to_dict()
        self._call("POST", "rate_limits", document)

    def rate_limits(self) -> dict[str, Any]:
        """The rate limits in force (``RateLimits.to_dict``)."""
        return dict(self._call("GET", "rate_limits"))

    def add_webhook_endpoint(self, url: str, secret: str | None = None) -> dict[str, str]:
        """Send later events to ``url`` too; returns ``{"id", "url", "secret"}``."""
        body = {"url": url} if secret is None else {"url": url, "secret": secret}
        return dict(self._call("POST", "webhook_endpoints", body))

    def webhook_endpoints(self) -> list[dict[str, str]]:
        """The endpoints events go to, each ``{"id", "url", "secret"}``."""
        return list(self._call("GET", "webhook_endpoints")["data"])

    def events(self) -> list[dict[str, Any]]:
        """Every Event made since the last reset, oldest first."""
        return list(self._call("GET", "events")["data"])

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt."""
        return list(self._call("GET", "webhook_deliveries")["data"])

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise EmulatorControlError(error.code, _message(error.read())) from error


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")
