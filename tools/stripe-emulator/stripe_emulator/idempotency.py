"""Stripe's idempotency layer: save the first response for a key and replay it.

Per docs.stripe.com/api/idempotent_requests: the status code and body of the first request
whose execution began are saved, whatever they are (500s included), and returned to later
requests with the same key and the same parameters; different parameters are an
``idempotency_error``; a request whose key's first request is still running gets 409.
Nothing is saved for a request that failed before execution (validation, 409, 429), so it
can be retried with the same key. Keys may be pruned once they are 24 hours old, after
which the same key executes afresh and can create a second object.

Keys are scoped per API key. The store does no locking: the emulator state calls it under
its lock.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from stripe_emulator.responses import Reply

#: Stripe prunes keys once they are at least this old.
KEY_LIFETIME_SECONDS = 24 * 60 * 60
#: Longest key Stripe accepts.
MAX_KEY_LENGTH = 255

Scope = tuple[str, str]  # (API key, idempotency key)


def fingerprint(method: str, path: str, pairs: list[tuple[str, str]]) -> str:
    """What "the same request" means: endpoint and parameters, whatever their order."""
    return json.dumps([method, path, sorted(pairs)])


@dataclass
class _Entry:
    fingerprint: str
    started_at: float
    response: Reply | None = None  # None while the first request is running
    request_id: str = ""


@dataclass(frozen=True)
class Lookup:
    """What to do with a request that carries a key.

    ``execute``: the key is now claimed by this request; ``replay``: answer ``response``;
    ``mismatch``: same key, other parameters; ``in_flight``: the first one is still running.
    """

    verdict: Literal["execute", "replay", "mismatch", "in_flight"]
    response: Reply | None = None
    original_request_id: str = ""


class IdempotencyStore:
    """Saved responses by (API key, idempotency key), oldest first."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Scope, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, scope: Scope, request_fingerprint: str, now: float) -> Lookup:
        """Look the key up and, when it is free, claim it for this request."""
        self.prune(now)
        entry = self._entries.get(scope)
        if entry is not None and entry.response is not None and _expired(entry, now):
            del self._entries[scope]
            entry = None
        if entry is None:
            self._entries[scope] = _Entry(request_fingerprint, started_at=now)
            return Lookup("execute")
        if entry.fingerprint != request_fingerprint:
            return Lookup("mismatch")
        if entry.response is None:
            return Lookup("in_flight")
        return Lookup("replay", entry.response, entry.request_id)

    def save(self, scope: Scope, response: Reply, request_id: str) -> None:
        """Record the result of the request that claimed ``scope``."""
        entry = self._entries.get(scope)
        if entry is not None:
            entry.response = response
            entry.request_id = request_id

    def release(self, scope: Scope) -> None:
        """Forget a claim whose request ended before executing (nothing is saved)."""
        entry = self._entries.get(scope)
        if entry is not None and entry.response is None:
            del self._entries[scope]

    def prune(self, now: float) -> None:
        """Drop completed keys older than the lifetime, oldest first."""
        # Entries are kept in the order they were claimed, and the clock only moves forward,
        # so the expired ones are at the front; a claim still running stops the sweep (the
        # per-key check in ``begin`` covers any expired key behind it).
        while self._entries:
            scope, entry = next(iter(self._entries.items()))
            if entry.response is None or not _expired(entry, now):
                return
            del self._entries[scope]

    def clear(self) -> None:
        """Forget every key."""
        self._entries.clear()


def _expired(entry: _Entry, now: float) -> bool:
    return now - entry.started_at >= KEY_LIFETIME_SECONDS
