"""The control API over HTTP, under ``/_emulator/``: for tests and the local runtime when
the emulator runs in another process. No authentication: it only listens on 127.0.0.1.

==========  ==============================  ===============================================
Method      Path                            Body / answer
==========  ==============================  ===============================================
GET         /_emulator/health               ``{"ok": true}``
GET         /_emulator/ledger               the ledger snapshot (see ``ledger.py``)
GET         /_emulator/payment_intents      ``{"data": [every PaymentIntent, oldest first]}``
POST        /_emulator/reset                ``{"seed": n}`` optional; forgets everything
GET         /_emulator/faults               ``{"data": [rules with id, remaining, injected]}``
POST        /_emulator/faults               a fault rule (see ``faults.py``) -> ``{"id"}``
DELETE      /_emulator/faults               removes every rule
DELETE      /_emulator/faults/{id}          removes one rule
GET         /_emulator/clock                ``{"now": unix seconds}``
POST        /_emulator/clock/advance        ``{"seconds": n}`` -> ``{"now"}``
POST        /_emulator/latency              ``{"ms": n, "jitter_ms": n}``
GET         /_emulator/rate_limits          ``{"global_per_second", "endpoint_per_second",
                                            "lock_timeouts"}`` (null: no such limit)
POST        /_emulator/rate_limits          the same fields, or ``{"preset": "live"}``
                                            (``sandbox``, ``live``, ``off``)
GET         /_emulator/webhook_endpoints    ``{"data": [{"id", "url", "secret"}]}``
POST        /_emulator/webhook_endpoints    ``{"url", "secret"?}`` -> ``{"id", "url", "secret"}``
GET         /_emulator/events               ``{"data": [every Event, oldest first]}``
GET         /_emulator/webhook_deliveries   ``{"data": [every delivery attempt]}``
==========  ==============================  ===============================================
"""

from __future__ import annotations

import json
from typing import Any

from stripe_emulator.faults import FaultRule
from stripe_emulator.ratelimit import RateLimits
from stripe_emulator.responses import Reply, json_reply
from stripe_emulator.state import EmulatorState
from stripe_emulator.webhooks import WebhookEndpoint

PREFIX = "/_emulator/"


def handle_control(state: EmulatorState, method: str, path: str, body: bytes) -> Reply:
    """Answer one control request; 400 with ``{"error": {"message"}}`` for bad input."""
    try:
        document = json.loads(body) if body.strip() else {}
        if not isinstance(document, dict):
            raise ValueError("the body must be a JSON object")
        return _dispatch(state, method, path.removeprefix(PREFIX).rstrip("/"), document)
    except KeyError as error:
        return _error(400, f"missing field {error}")
    except (ValueError, TypeError) as error:
        return _error(400, str(error))


def _dispatch(state: EmulatorState, method: str, path: str, body: dict[str, Any]) -> Reply:
    if (method, path) == ("GET", "health"):
        return json_reply({"ok": True})
    if (method, path) == ("GET", "ledger"):
        return json_reply(state.ledger())
    if (method, path) == ("GET", "payment_intents"):
        return json_reply({"data": state.payment_intents()})
    if (method, path) == ("POST", "reset"):
        state.reset(seed=_optional_int(body.get("seed")))
        return json_reply({"ok": True})
    if path == "faults":
        return _faults(state, method, body)
    if method == "DELETE" and path.startswith("faults/"):
        if state.remove_fault(path.removeprefix("faults/")):
            return json_reply({"ok": True})
        return _error(404, f"no fault rule {path.removeprefix('faults/')!r}")
    if (method, path) == ("GET", "clock"):
        return json_reply({"now": state.now()})
    if (method, path) == ("POST", "clock/advance"):
        return json_reply({"now": state.advance(float(body["seconds"]))})
    if (method, path) == ("POST", "latency"):
        state.set_latency(float(body.get("ms", 0)), float(body.get("jitter_ms", 0)))
        return json_reply({"ok": True})
    if (method, path) == ("GET", "rate_limits"):
        return json_reply(state.settings.rate_limits.to_dict())
    if (method, path) == ("POST", "rate_limits"):
        preset = body.pop("preset", None)
        state.set_rate_limits(RateLimits.parse(preset if preset is not None else body))
        return json_reply(state.settings.rate_limits.to_dict())
    if path == "webhook_endpoints":
        return _webhook_endpoints(state, method, body)
    if (method, path) == ("GET", "events"):
        return json_reply({"data": state.events()})
    if (method, path) == ("GET", "webhook_deliveries"):
        return json_reply({"data": state.webhook_deliveries()})
    return _error(404, f"no control endpoint {method} {PREFIX}{path}")


def _faults(state: EmulatorState, method: str, body: dict[str, Any]) -> Reply:
    if method == "GET":
        return json_reply({"data": state.faults()})
    if method == "POST":
        return json_reply({"id": state.add_fault(FaultRule.from_dict(body))}, status=201)
    if method == "DELETE":
        state.clear_faults()
        return json_reply({"ok": True})
    return _error(405, f"{method} is not allowed on {PREFIX}faults")


def _webhook_endpoints(state: EmulatorState, method: str, body: dict[str, Any]) -> Reply:
    if method == "GET":
        return json_reply({"data": state.webhook_endpoints()})
    if method == "POST":
        url, secret = body["url"], body.get("secret")
        if not isinstance(url, str) or not isinstance(secret, str | None):
            raise ValueError("url and secret must be strings")
        endpoint = WebhookEndpoint(url, secret) if secret else WebhookEndpoint(url)
        state.add_webhook_endpoint(endpoint)
        return json_reply(endpoint.to_dict(), status=201)
    return _error(405, f"{method} is not allowed on {PREFIX}webhook_endpoints")


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("seed must be an integer")
    return value


def _error(status: int, message: str) -> Reply:
    return json_reply({"error": {"message": message}}, status=status)
