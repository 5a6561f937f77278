"""The Stripe API request path, independent of HTTP: one request in, one Reply out.

The order of the steps is the model of Stripe this emulator keeps:

1. route, authenticate (401), check ``Stripe-Version`` (400), rate limit (429): nothing is
   saved;
2. draw faults; an answering fault (429, 5xx, dropped connection) ends it here, unsaved;
3. validate the parameters: a 400 is not saved, the same key can be retried;
4. with an ``Idempotency-Key`` (POST only): replay a saved response, refuse the key with
   other parameters (``idempotency_error``) or while its first request runs (409), or
   claim it; a write then locks the objects it touches, or gets 429 ``lock_timeout``
   (unsaved) when another request holds one;
5. wait out the latency (with the key claimed, as a slow Stripe would hold it);
6. execute: commit, save the response for the key, then maybe swap the answer for a saved
   500 (``server_error_after``) or drop the connection (``drop_after_commit``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_emulator import customers, listing, payment_intents, payment_methods, versions
from stripe_emulator.faults import FaultRule, RequestFacts
from stripe_emulator.forms import decode, parse_pairs
from stripe_emulator.idempotency import MAX_KEY_LENGTH, Lookup, Scope, fingerprint
from stripe_emulator.ratelimit import endpoint_key, written_objects
from stripe_emulator.responses import (
    DROP,
    Reply,
    StripeFailure,
    api_error,
    authentication_failed,
    idempotency_conflict,
    idempotency_mismatch,
    invalid_request,
    lock_timeout,
    new_id,
    rate_limited,
    unrecognized_url,
)
from stripe_emulator.state import EmulatorState

logger = logging.getLogger("stripe_emulator")

#: (method, path pattern, endpoint name); the name is what ledger, faults and logs use.
_ROUTES = tuple(
    (method, re.compile(pattern), endpoint)
    for method, pattern, endpoint in (
        ("POST", r"^/v1/payment_intents$", "create"),
        ("GET", r"^/v1/payment_intents$", "list"),
        ("GET", r"^/v1/payment_intents/([^/]+)$", "retrieve"),
        ("POST", r"^/v1/customers$", "customer_create"),
        ("GET", r"^/v1/customers/([^/]+)$", "customer_retrieve"),
        ("POST", r"^/v1/customers/([^/]+)$", "customer_update"),
        ("POST", r"^/v1/payment_methods/([^/]+)/attach$", "payment_method_attach"),
        ("GET", r"^/v1/payment_methods/([^/]+)$", "payment_method_retrieve"),
    )
)


@dataclass(frozen=True)
class ApiRequest:
    """An HTTP request as the API sees it; header names are lower-case."""

    method: str
    path: str
    query: str
    body: bytes
    headers: Mapping[str, str]


def route(method: str, path: str) -> tuple[str, str | None] | None:
    """The endpoint name and the object ID in the path, or None for an unknown route."""
    for route_method, pattern, endpoint in _ROUTES:
        match = pattern.match(path)
        if match and method == route_method:
            return endpoint, match.group(1) if pattern.groups else None
    return None


class StripeApi:
    """Answers Stripe API requests from the emulator state.

    ``wait(seconds)`` sleeps and returns False when the emulator is stopping (so a hung
    request ends with the server instead of outliving it).
    """

    def __init__(self, state: EmulatorState, wait: Callable[[float], bool]) -> None:
        self._state = state
        self._wait = wait

    def handle(self, request: ApiRequest) -> Reply:
        """Answer one request (or tell the server to drop the connection)."""
        request_id = new_id("req", 14)
        try:
            reply = self._handle(request, request_id)
        except StripeFailure as failure:
            reply = failure.reply()
        if reply.drop:
            return reply
        asked = request.headers.get("stripe-version")
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": asked
            if asked in versions.KNOWN_API_VERSIONS
            else versions.DEFAULT_API_VERSION,
        }
        key = request.headers.get("idempotency-key")
        if key and request.method == "POST":
            headers["Idempotency-Key"] = key
        return reply.with_headers(headers)

    def _handle(self, request: ApiRequest, request_id: str) -> Reply:
        found = route(request.method, request.path)
        if found is None:
            self._state.count("unknown_route")
            raise unrecognized_url(request.method, request.path)
        endpoint, object_id = found
        self._state.count(endpoint)
        api_key = self._authenticate(request.headers)
        try:
            versions.negotiate(request.headers.get("stripe-version"))
        except StripeFailure:
            self._state.count("invalid_version")
            raise
        if self._state.admit(endpoint_key(request.method, request.path)) is not None:
            raise rate_limited(False)  # see ratelimit.py on Stripe-Should-Retry
        encoded = (
            request.query if request.method == "GET" else request.body.decode("utf-8", "replace")
        )
        try:
            pairs = parse_pairs(encoded)
            params = decode(pairs)
        except StripeFailure:
            self._state.count("invalid")
            raise
        # Stripe ignores idempotency keys on GET: reads are idempotent anyway.
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        key = key or None  # an empty header is no key
        facts = _facts(endpoint, params, key)

        drawn = self._state.before_execution(facts)
        for kind in drawn.fired:
            _log_fault(kind, facts)
        if drawn.answer is not None:
            return _fault_answer(drawn.answer)

        invalid: StripeFailure | None = None
        parsed: Any = None
        try:
            parsed = _validate(endpoint, params, key)
        except StripeFailure as failure:
            invalid = failure
        lookup = Lookup("execute")
        scope: Scope | None = None
        if invalid is None and key is not None:
            scope = (api_key, key)
            lookup = self._state.claim(scope, fingerprint(request.method, request.path, pairs))
            if lookup.verdict != "execute":
                scope = None  # the key belongs to another request: never release it
        locked: tuple[str, ...] | None = ()
        if invalid is None and lookup.verdict == "execute":
            # A write holds its objects from here until it has executed (see ratelimit.py).
            locked = self._state.lock_objects(written_objects(request.method, request.path, params))
            if locked is None:
                self._state.release(scope)
                raise lock_timeout()

        try:
            if not self._wait(drawn.delay_seconds) or drawn.drop_after_delay:
                if drawn.drop_after_delay:
                    self._state.count("faulted")
                return DROP
            if invalid is not None:
                self._state.count("invalid")
                raise invalid
            if lookup.verdict != "execute":
                return self._answer_for_key(lookup, key or "")
            reply, after = self._execute(endpoint, parsed, object_id, facts, scope, request_id)
        finally:
            # A claim that did not reach execution saved nothing: free the key for a retry.
            # (After execution the response is saved, and release() leaves it alone.)
            self._state.release(scope)
            self._state.unlock_objects(locked)
        if after is not None:
            _log_fault(after.kind, facts)
        if after is not None and after.kind == "drop_after_commit":
            return DROP
        return reply

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        api_key = credentials.strip() if scheme.lower() == "bearer" else ""
        if scheme.lower() == "basic":
            api_key = _basic_username(credentials.strip())
        if api_key not in self._state.api_keys:
            self._state.count("unauthorized")
            raise authentication_failed(api_key)
        return api_key

    def _answer_for_key(self, lookup: Lookup, key: str) -> Reply:
        if lookup.verdict == "replay":
            assert lookup.response is not None
            self._state.count("replayed")
            headers = {
                "Idempotent-Replayed": "true",
                "Original-Request": lookup.original_request_id,
            }
            if lookup.response.status >= 500:
                # Retrying with this key can only replay the same 500 (stripe-python's
                # _should_retry: "The API may ask us not to retry (eg; if doing so would be
                # a no-op)").
                headers["Stripe-Should-Retry"] = "false"
            return lookup.response.with_headers(headers)
        if lookup.verdict == "mismatch":
            self._state.count("idempotency_error")
            raise idempotency_mismatch(key)
        self._state.count("conflict")
        raise idempotency_conflict(key)

    def _execute(
        self,
        endpoint: str,
        parsed: Any,
        object_id: str | None,
        facts: RequestFacts,
        scope: Scope | None,
        request_id: str,
    ) -> tuple[Reply, FaultRule | None]:
        if endpoint == "create":
            return self._state.create(parsed, facts, scope, request_id)
        if endpoint == "list":
            return self._state.list_page(parsed, facts)
        assert object_id is not None or endpoint == "customer_create"
        if endpoint == "retrieve":
            return self._state.retrieve(object_id or "", facts)
        work = _customer_work(endpoint, parsed, object_id or "")
        return self._state.customers_call(work, facts, scope, request_id)


def _validate(endpoint: str, params: dict[str, Any], key: str | None) -> Any:
    """Parameter checks that run before execution (their 400s are never saved)."""
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise invalid_request(
            f"Idempotency-Key is too long: {len(key)} characters, the maximum is {MAX_KEY_LENGTH}."
        )
    parser = _PARSERS.get(endpoint)
    return parser(params) if parser else None


_PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "create": payment_intents.parse_create,
    "list": listing.parse_list,
    "customer_create": customers.parse_create,
    "customer_update": customers.parse_update,
    "customer_retrieve": payment_methods.parse_retrieve,
    "payment_method_attach": payment_methods.parse_attach,
    "payment_method_retrieve": payment_methods.parse_retrieve,
}


def _customer_work(
    endpoint: str, parsed: Any, object_id: str
) -> Callable[[customers.Customers, int], dict[str, Any]]:
    """The execution step of a customer or payment method endpoint."""
    if endpoint == "customer_create":
        return lambda store, now: store.create(parsed, now=now)
    if endpoint == "customer_update":
        return lambda store, now: store.update(object_id, parsed)
    if endpoint == "customer_retrieve":
        return lambda store, now: store.retrieve(object_id)
    if endpoint == "payment_method_attach":
        return lambda store, now: store.attach(object_id, parsed, now=now)
    return lambda store, now: store.retrieve_payment_method(object_id)


def _facts(endpoint: str, params: dict[str, Any], key: str | None) -> RequestFacts:
    metadata = params.get("metadata")
    request_id = metadata.get("request_id") if isinstance(metadata, dict) else None
    customer = params.get("customer")
    return RequestFacts(
        endpoint=endpoint,
        request_id=request_id if isinstance(request_id, str) else None,
        idempotency_key=key,
        customer=customer if isinstance(customer, str) else None,
    )


def _log_fault(kind: str, facts: RequestFacts) -> None:
    logger.info(
        "fault injected: %s on %s (request_id=%s, idempotency_key=%s)",
        kind,
        facts.endpoint,
        facts.request_id,
        facts.idempotency_key,
    )


def _fault_answer(rule: FaultRule) -> Reply:
    if rule.kind == "drop_before":
        return DROP
    if rule.kind == "rate_limit":
        return rate_limited(bool(rule.stripe_should_retry)).reply()
    return api_error(rule.status, rule.stripe_should_retry).reply()


def _basic_username(credentials: str) -> str:
    # ``curl -u sk_test_...:`` sends the key as the Basic user name.
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]
