"""Faults injected inside a worker process, at the points where a retry is most dangerous.

The handler code is not changed: when a worker starts with ``CHARGEQ_CHAOS`` set to a JSON
plan, these hooks wrap the Stripe gateway and Powertools' DynamoDB persistence layer.

- ``kill_before_stripe``: SIGKILL after the in-progress record is written, before Stripe.
- ``kill_after_stripe``: SIGKILL after Stripe answered, before the record is completed.
- ``throttle_claim``: DynamoDB throttles the in-progress write (before Stripe).
- ``throttle_record``: DynamoDB throttles the completing write (after Stripe charged).

Whether a fault fires is a pure function of the seed, the fault, the request and its
delivery, so a run can be replayed from its seed whatever the scheduling. Each injection
is appended to the file named by ``CHARGEQ_CHAOS_LOG`` (one JSON line) for the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


class _Recorder:
    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()

    def __call__(self, fault: str, **facts: object) -> None:
        # Written and flushed before a kill, so a SIGKILL'd injection is still counted.
        with self._lock, open(self._path, "a") as log:
            log.write(json.dumps({"fault": fault, **facts}) + "\n")


def install_from_environment() -> None:
    """Install the hooks if this worker was started with a chaos plan."""
    raw = os.environ.get(CHAOS_ENV)
    if not raw:
        return
    document = json.loads(raw)
    document["doomed"] = tuple(document.get("doomed", ()))
    document["first_attempt"] = tuple(tuple(pair) for pair in document.get("first_attempt", ()))
    install(ChaosPlan(**document), _Recorder(os.environ[CHAOS_LOG_ENV]))


def install(plan: ChaosPlan, record: Callable[..., None]) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from botocore.exceptions import ClientError

    from charges.claims import record_key
    from charges.payments import StripeGateway

    original_charge = StripeGateway.charge

    def charge(self: StripeGateway, request: Any, delivery: Any = None) -> Any:
        receive_count = getattr(delivery, "receive_count", 1)
        identity = (request.request_id, receive_count)

        def due(fault: str) -> bool:
            aimed = receive_count == 1 and plan.aimed(fault, request.request_id)
            return aimed or plan.fires(fault, *identity)

        if due(KILL_BEFORE_STRIPE):
            record(KILL_BEFORE_STRIPE, request_id=request.request_id)
            os.kill(os.getpid(), signal.SIGKILL)
        result = original_charge(self, request, delivery)
        if request.request_id in plan.doomed or due(KILL_AFTER_STRIPE):
            record(KILL_AFTER_STRIPE, request_id=request.request_id)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    attempts: Counter[str] = Counter()
    aimed_keys = {(fault, record_key(request_id)) for fault, request_id in plan.first_attempt}

    def throttling(fault: str, original: Callable[..., Any], operation: str) -> Callable[..., Any]:
        def wrapper(self: Any, data_record: Any) -> Any:
            key = data_record.idempotency_key
            attempts[f"{fault}:{key}"] += 1
            first = attempts[f"{fault}:{key}"] == 1
            if (first and (fault, key) in aimed_keys) or plan.fires(
                fault, key, attempts[f"{fault}:{key}"]
            ):
                record(fault, key=key)
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ProvisionedThroughputExceededException",
                            "Message": "injected by chargeq chaos",
                        }
                    },
                    operation,
                )
            return original(self, data_record)

        return wrapper

    StripeGateway.charge = charge  # type: ignore[method-assign]
    DynamoDBPersistenceLayer._put_record = throttling(  # type: ignore[method-assign]
        THROTTLE_CLAIM, DynamoDBPersistenceLayer._put_record, "PutItem"
    )
    DynamoDBPersistenceLayer._update_record = throttling(  # type: ignore[method-assign]
        THROTTLE_RECORD, DynamoDBPersistenceLayer._update_record, "UpdateItem"
    )
