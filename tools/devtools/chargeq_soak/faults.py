"""Faults injected inside a worker process, at the points where a retry is most dangerous.

The handler code is not changed and nothing in it is patched: when a worker starts with
``CHARGEQ_CHAOS`` set to a JSON plan, ``install`` builds the function's dependencies through
its test seam (``charges.dependencies.TestSeam``): a wrapper around the payment gateway, and
a boto3 session whose botocore event hooks answer the idempotency table's writes with the
error DynamoDB returns when it throttles. Both are public interfaces, so an upgrade of
Powertools or the Stripe SDK cannot silently disarm a fault.

- ``kill_before_stripe``: SIGKILL after the in-progress record is written, before Stripe.
- ``kill_after_stripe``: SIGKILL after Stripe answered, before the record is completed.
- ``throttle_claim``: DynamoDB throttles the in-progress write (before Stripe).
- ``throttle_record``: DynamoDB throttles the completing write (after Stripe charged).

Whether a fault fires is a pure function of the seed, the fault, the request and how often
the fault already hit it (kills, counted in the shared log, which outlives a killed
worker) or how often the write was tried (throttling), so a run can be replayed from its
seed whatever the scheduling. Each injection
is appended to the file named by ``CHARGEQ_CHAOS_LOG`` (one JSON line) for the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chargeq_local.aws_errors import DYNAMODB_THROTTLING, error_response
from chargeq_local.workers import WORKER_SETUP_ENV

CHAOS_ENV = "CHARGEQ_CHAOS"
CHAOS_LOG_ENV = "CHARGEQ_CHAOS_LOG"

KILL_BEFORE_STRIPE = "kill_before_stripe"
KILL_AFTER_STRIPE = "kill_after_stripe"
THROTTLE_CLAIM = "throttle_claim"
THROTTLE_RECORD = "throttle_record"


@dataclass(frozen=True)
class ChaosPlan:
    """Probabilities of each in-process fault, per request attempt."""

    seed: int = 0
    kill_before_stripe: float = 0.0
    kill_after_stripe: float = 0.0
    throttle_claim: float = 0.0
    throttle_record: float = 0.0
    #: Requests killed after Stripe answers on every delivery, until the plan changes:
    #: they exhaust their deliveries and are moved to the DLQ by the redrive policy.
    doomed: tuple[str, ...] = ()
    #: (fault, request_id) pairs that fire on the request's first attempt only: the named
    #: scenarios of the fault suite aim one fault at one request.
    first_attempt: tuple[tuple[str, str], ...] = ()

    def to_environment(self, log_path: Path) -> dict[str, str]:
        """The workers' variables: this plan, its log, and the hook that installs it."""
        return {
            CHAOS_ENV: json.dumps(asdict(self)),
            CHAOS_LOG_ENV: str(log_path),
            WORKER_SETUP_ENV: f"{__name__}:install_from_environment",
        }

    def aimed(self, fault: str, request_id: str) -> bool:
        return (fault, request_id) in self.first_attempt

    def fires(self, fault: str, *identity: object) -> bool:
        chance: float = getattr(self, fault)
        if chance <= 0:
            return False
        text = ":".join(str(part) for part in (self.seed, fault, *identity))
        roll = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64
        return roll < chance


def injected_faults(log_path: Path) -> Counter[str]:
    """How many faults of each kind the workers injected."""
    if not log_path.exists():
        return Counter()
    return Counter(json.loads(line)["fault"] for line in log_path.read_text().splitlines())


class ChaosLog:
    """The injections of this run, one JSON line each, shared by every worker process."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()

    def __call__(self, fault: str, **facts: object) -> None:
        # Written and flushed before a kill, so a SIGKILL'd injection is still counted.
        with self._lock, open(self._path, "a") as log:
            log.write(json.dumps({"fault": fault, **facts}) + "\n")

    def times(self, fault: str, request_id: str) -> int:
        """How often ``fault`` was injected into ``request_id`` so far, by any worker."""
        with self._lock:
            if not os.path.exists(self._path):
                return 0
            with open(self._path) as log:
                # Parsed only where the ID appears as ``__call__`` wrote it: the log grows
                # to thousands of lines in a long soak and this runs twice per charge.
                written = json.dumps(request_id)
                entries = [json.loads(line) for line in log if written in line]
        return sum(
            1
            for entry in entries
            if (entry["fault"], entry.get("request_id")) == (fault, request_id)
        )


def install_from_environment() -> None:
    """Install the hooks if this worker was started with a chaos plan."""
    raw = os.environ.get(CHAOS_ENV)
    if not raw:
        return
    document = json.loads(raw)
    document["doomed"] = tuple(document.get("doomed", ()))
    document["first_attempt"] = tuple(tuple(pair) for pair in document.get("first_attempt", ()))
    install(ChaosPlan(**document), ChaosLog(os.environ[CHAOS_LOG_ENV]))


def install(plan: ChaosPlan, record: ChaosLog) -> None:
    """Have the function's dependencies built with this plan's faults from now on."""
    import boto3

    from charges.dependencies import TestSeam, install_test_seam

    session = boto3.Session()
    _DynamoDBThrottling(plan, record).register(session)
    install_test_seam(
        TestSeam(session=session, wrap_gateway=lambda inner: ChaosGateway(inner, plan, record))
    )


class ChaosGateway:
    """The function's payment gateway, killing the worker before or after a charge.

    A kill fires as a function of the seed, the fault, the request and how often that fault
    already hit the request (read from the shared log, which survives the kill): an aimed
    fault fires once, on the request's first charge.
    """

    def __init__(self, inner: Any, plan: ChaosPlan, record: ChaosLog) -> None:
        self._inner = inner
        self._plan = plan
        self._record = record

    def charge(self, request: Any, *args: Any, **options: Any) -> Any:
        request_id = request.request_id

        def due(fault: str) -> bool:
            hits = self._record.times(fault, request_id)
            aimed = hits == 0 and self._plan.aimed(fault, request_id)
            return aimed or self._plan.fires(fault, request_id, hits)

        if due(KILL_BEFORE_STRIPE):
            self._record(KILL_BEFORE_STRIPE, request_id=request_id)
            os.kill(os.getpid(), signal.SIGKILL)
        result = self._inner.charge(request, *args, **options)
        if request_id in self._plan.doomed or due(KILL_AFTER_STRIPE):
            self._record(KILL_AFTER_STRIPE, request_id=request_id)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    def __getattr__(self, name: str) -> Any:
        # Everything but the charge (look-ups, say) goes to the real gateway unchanged.
        return getattr(self._inner, name)


class _DynamoDBThrottling:
    """Botocore event hooks that throttle the idempotency table's claim (PutItem) and its
    completing write (the UpdateItem that stores a COMPLETED result).

    ``before-parameter-build`` sees the call's parameters (which record, which write) and
    marks the call in its request context; ``before-call`` answers a marked call with
    DynamoDB's throttling error instead of sending it (``chargeq_local.aws_errors``).
    """

    _MARK = "chargeq_chaos_fault"

    def __init__(self, plan: ChaosPlan, record: ChaosLog) -> None:
        from charges.claims import record_key

        self._plan = plan
        self._record = record
        self._attempts: Counter[str] = Counter()
        self._aimed = {(fault, record_key(request_id)) for fault, request_id in plan.first_attempt}
        self._lock = threading.Lock()

    def register(self, session: Any) -> None:
        for operation in ("PutItem", "UpdateItem"):
            session.events.register(f"before-parameter-build.dynamodb.{operation}", self._decide)
            session.events.register(f"before-call.dynamodb.{operation}", self._answer)

    def _decide(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
            STATUS_CONSTANTS,
        )

        from charges.claims import RecordAttribute

        if model.name == "PutItem":
            fault, key = THROTTLE_CLAIM, params["Item"][RecordAttribute.KEY]["S"]
        elif {"S": STATUS_CONSTANTS["COMPLETED"]} in params.get(
            "ExpressionAttributeValues", {}
        ).values():
            fault, key = THROTTLE_RECORD, params["Key"][RecordAttribute.KEY]["S"]
        else:
            return  # another update of the record (not the completing write): let it through
        with self._lock:
            self._attempts[f"{fault}:{key}"] += 1
            attempt = self._attempts[f"{fault}:{key}"]
        if (attempt == 1 and (fault, key) in self._aimed) or self._plan.fires(fault, key, attempt):
            self._record(fault, key=key)
            context[self._MARK] = fault

    def _answer(self, context: dict[str, Any], **_: Any) -> Any:
        if self._MARK not in context:
            return None
        return error_response(DYNAMODB_THROTTLING, "injected by chargeq chaos")


CRASH_BEFORE_LEDGER_WRITE = "crash_before_ledger_write"
CRASH_BEFORE_PUT_EVENTS = "crash_before_put_events"
STREAM_CHAOS_ENV = "CHARGEQ_STREAM_CHAOS"


@dataclass(frozen=True)
class StreamChaos:
    """Crashes of the stream consumers between their read and their write, per record.

    The consumer's worker has read its batch (``GetRecords`` through the event source) and
    dies (SIGKILL) just before the ledger writer's ``UpdateItem`` or the publisher's
    ``PutEvents`` is sent: the invocation fails, so the event source hands the same records out
    again (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Error handling": a failed
    batch is retried until it succeeds or its records expire). Whether it fires is a
    function of the seed, the fault, the record (request ID or event ID) and how often the
    fault already hit it (the shared log), so a record is not crashed on forever.
    """

    seed: int = 0
    crash_before_ledger_write: float = 0.0
    crash_before_put_events: float = 0.0

    def to_environment(self, log_path: Path) -> dict[str, str]:
        """The consumers' variables: this plan, its log, and the hook that installs it."""
        return {
            STREAM_CHAOS_ENV: json.dumps(asdict(self)),
            CHAOS_LOG_ENV: str(log_path),
            WORKER_SETUP_ENV: f"{__name__}:install_stream_chaos_from_environment",
        }

    def fires(self, fault: str, *identity: object) -> bool:
        chance: float = getattr(self, fault)
        return chance > 0 and _roll(self.seed, fault, *identity) < chance


def _roll(*parts: object) -> float:
    text = ":".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def install_stream_chaos_from_environment() -> None:
    """Install the crash hooks in a stream consumer's worker, if it has a plan.

    The consumers build their clients from boto3's default session (``boto3.client``), so
    the hooks go on that session's botocore events, before the handler is imported.
    """
    raw = os.environ.get(STREAM_CHAOS_ENV)
    if not raw:
        return
    import boto3

    plan = StreamChaos(**json.loads(raw))
    record = ChaosLog(os.environ[CHAOS_LOG_ENV])
    boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events
    crash = _ConsumerCrash(plan, record)
    # before-parameter-build sees the call's own parameters (which record, which event);
    # the kill comes before anything is sent.
    events.register("before-parameter-build.dynamodb.UpdateItem", crash.before_ledger_write)
    events.register("before-parameter-build.events.PutEvents", crash.before_put_events)


class _ConsumerCrash:
    """Botocore hooks that kill the worker before the consumer's write is sent."""

    def __init__(self, plan: StreamChaos, record: ChaosLog) -> None:
        self._plan = plan
        self._record = record

    def before_ledger_write(self, params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", {}).get("request_id", {}).get("S")
        if key:
            self._maybe_crash(CRASH_BEFORE_LEDGER_WRITE, key)

    def before_put_events(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params.get("Entries", []):
            event_id = json.loads(entry.get("Detail") or "{}").get("event_id")
            if event_id:
                self._maybe_crash(CRASH_BEFORE_PUT_EVENTS, event_id)

    def _maybe_crash(self, fault: str, identity: str) -> None:
        hits = self._record.times(fault, identity)
        if self._plan.fires(fault, identity, hits):
            self._record(fault, request_id=identity)
            os.kill(os.getpid(), signal.SIGKILL)
