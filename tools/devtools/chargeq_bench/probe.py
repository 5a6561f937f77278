"""The benchmark's probe inside a worker process: times each invocation and counts AWS calls.

The benchmark runs each handler under test as ``chargeq_bench.probe:lambda_handler`` with
``CHARGEQ_BENCH_TARGET`` naming the real handler (``module:function``). The probe counts
every HTTP request boto3 sends (by service and operation) through botocore's public
``request-created`` event, installed before the target is imported so even clients built at
its import are counted, and appends one JSON line per invocation to ``CHARGEQ_BENCH_LOG``:
when it started, how long it ran, the CPU time it used, how many records it got and failed,
the AWS requests it made, the process's peak resident memory so far, and when each
idempotency record's COMPLETED write returned (``completed_writes``: record key -> epoch
seconds, taken by a botocore ``after-call`` hook on the successful ``UpdateItem`` that stores
a result: the moment the record exists, to the microsecond, where the stream record's
``ApproximateCreationDateTime`` is whole seconds). The handler's code is not changed.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

TARGET_ENV = "CHARGEQ_BENCH_TARGET"
LOG_ENV = "CHARGEQ_BENCH_LOG"

_requests: Counter[str] = Counter()
_completed: dict[str, float] = {}
_stripe_sent: list[float] = []
_lock = threading.Lock()
#: Marks, in a call's request context, the write that completes an idempotency record.
_COMPLETING = "chargeq_bench_completing"


def _install_counter() -> None:
    """Count the requests of every botocore client created from now on, in any session.

    ``request-created`` fires once per HTTP attempt, retries included: what AWS bills.
    """
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.service_name

        def count(operation_name: str = "", **_: Any) -> None:
            with _lock:
                _requests[f"{service}.{operation_name}"] += 1

        client.meta.events.register("request-created", count)
        if service == "dynamodb":
            client.meta.events.register(
                "before-parameter-build.dynamodb.UpdateItem", _mark_completing
            )
            client.meta.events.register("after-call.dynamodb.UpdateItem", _note_completed)
        return client

    botocore.session.Session.create_client = create_client


def _install_stripe_clock() -> None:
    """Note when each HTTP request of the ``requests`` library is sent: in the handlers
    under test only the Stripe SDK uses it (botocore has its own urllib3 client)."""
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            _stripe_sent.append(time.time())
        return original(self, request, *args, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]


def _mark_completing(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Remember the key of an ``UpdateItem`` that stores a COMPLETED record."""
    if {"S": "COMPLETED"} in params.get("ExpressionAttributeValues", {}).values():
        key = params.get("Key", {}).get("id", {}).get("S")  # charges.claims.RecordAttribute.KEY
        if key:
            context[_COMPLETING] = key


def _note_completed(http_response: Any, context: dict[str, Any], **_: Any) -> None:
    """The completing write returned 200: the record is written now."""
    key = context.get(_COMPLETING)
    if key and getattr(http_response, "status_code", 0) == 200:
        with _lock:
            _completed[key] = time.time()


def _load_target() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module_name, _, function_name = os.environ[TARGET_ENV].partition(":")
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(
        importlib.import_module(module_name), function_name
    )
    return handler


_target: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


def _start() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Install the counter, then import the target (so clients it builds at import count).

    Done on the first invocation, not at import: a spawned worker may import this module
    before its environment is set (when the parent's main module imports the benchmark).
    """
    global _target
    if _target is None:
        _install_counter()
        _install_stripe_clock()
        _target = _load_target()
    return _target


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the target handler on ``event`` and log what the invocation did."""
    target = _start()  # the first invocation imports the target: a warm-up, not measured
    with _lock:
        _requests.clear()
        _completed.clear()
        _stripe_sent.clear()
    started = time.time()
    clock = time.perf_counter()
    cpu = time.process_time()
    response: dict[str, Any] = {}
    try:
        response = target(event, context)
        return response
    finally:
        duration_ms = (time.perf_counter() - clock) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
        with _lock:
            requests = dict(_requests)
            completed = dict(_completed)
            stripe_sent = list(_stripe_sent)
        line = {
            "pid": os.getpid(),
            "started": started,
            "duration_ms": duration_ms,
            # User + system CPU of the whole worker process (all of its threads).
            "cpu_ms": cpu_ms,
            "records": len(event.get("Records", [])),
            "failed": len(response.get("batchItemFailures", [])) if response else None,
            "requests": requests,
            # Linux reports ru_maxrss in kilobytes.
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "completed_writes": completed,
            # When each Stripe request left, epoch seconds (retries of the SDK included).
            "stripe_sent": stripe_sent,
        }
        with open(os.environ[LOG_ENV], "a") as log:
            log.write(json.dumps(line) + "\n")
