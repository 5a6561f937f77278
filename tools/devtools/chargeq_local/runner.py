"""Run a workload through the local pipeline and check what became of every request.

moto's server stands in for SQS, DynamoDB (and its streams), Secrets Manager, EventBridge
and CloudWatch Logs, the project's emulator for Stripe; the queue, DLQ, tables and bus come
from the same ``PipelineSettings`` as the CDK stack. Pollers hand batches to the real
handler in worker processes, requests go through the producer client; the stream consumers
write the ledger and publish outcome events, the emulator sends its signed webhooks to the
webhook function on 127.0.0.1 (``outcomes``); the final state is read back from the table,
the ledger, the DLQ, the subscription queue and Stripe. The demo, the fault soak and the
benchmark are all runs of this.
"""

from __future__ import annotations

import json
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3

from chargeq.deployment import load_settings
from chargeq.dlq import peek
from chargeq.producer import ChargeProducer
from chargeq.settings import METRICS_NAMESPACE, PipelineSettings
from chargeq.status import read_statuses
from chargeq_local.event_source import BatchReport, EventSource
from chargeq_local.outcome_check import check_outcomes
from chargeq_local.outcomes import OutcomePipeline
from chargeq_local.poller import Poller
from chargeq_local.report import RunReport, check
from chargeq_local.resources import Resources, provision
from chargeq_local.servers import EmulatorServer, MotoServer, WebhookEndpointServer
from chargeq_local.stream_consumers import consumer_environment, start_consumers
from chargeq_local.streams import streams_client
from chargeq_local.strict_sqs import PLUGIN_ENVIRONMENT, install
from chargeq_local.subscription import OutcomeSubscriber
from chargeq_local.workers import DEFAULT_HANDLER, Worker
from chargeq_local.workload import Workload
from charges.contract import ChargeLimits
from ledger.store import LEDGER_TABLE_ENV, plain
from stripe_emulator import EmulatorControl
from stripe_emulator.signing import new_secret
from webhooks.handler import SECRET_NAME_ENV, TOLERANCE_ENV

STRIPE_API_KEY = "sk_test_local_demo"

#: Locally the function timeout is short so retries come back in seconds, not minutes;
#: the visibility timeout is still derived from it by the deployed rule (6x, plus the
#: batching window).
LOCAL_FUNCTION_TIMEOUT_SECONDS = 2

#: Fake credentials for moto; they never leave this machine. Every SQS client built under
#: them refuses what SQS refuses and runs move tasks (``strict_sqs``).
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
} | PLUGIN_ENVIRONMENT


@dataclass
class LocalStack:
    """The running local pipeline: servers, resources and clients."""

    settings: PipelineSettings
    moto_url: str
    stripe_url: str
    resources: Resources
    session: boto3.Session
    logs: Path
    #: The stream consumers, the subscriber and the webhook endpoint (``outcomes``).
    outcomes: OutcomePipeline | None = None

    def client(self, service: str) -> Any:
        """A client of moto's server; SQS clients are strict (``strict_sqs``)."""
        return install(self.session.client(service, endpoint_url=self.moto_url))

    def function_environment(self) -> dict[str, str]:
        config = self.resources.function_config(self.settings, self.stripe_url)
        return config.to_environment() | LOCAL_AWS_ENVIRONMENT | {"AWS_ENDPOINT_URL": self.moto_url}

    def workers(
        self, environment: dict[str, str] | None = None, handler: str = DEFAULT_HANDLER
    ) -> list[Worker]:
        """One worker per unit of event-source concurrency, as Lambda would run, each
        with a spare process standing by to replace it when it dies (``workers``)."""
        return [
            Worker(
                self.function_environment() | (environment or {}),
                self.logs / "function.log",
                self.settings.function_timeout_seconds,
                handler,
                standby=True,
            )
            for _ in range(self.settings.max_concurrency)
        ]


def local_settings(
    settings: PipelineSettings | None = None,
    function_timeout_seconds: int = LOCAL_FUNCTION_TIMEOUT_SECONDS,
) -> PipelineSettings:
    """The settings for a local run: stage ``local`` and a local function timeout, raised
    to the least that lets a batch be paced within it (a concurrency of 3 gives each
    container 8 requests per rate-limit window, and a batch of 12 needs two windows)."""
    base = settings or load_settings()
    timeout = max(function_timeout_seconds, math.floor(base.batch_pacing_seconds) + 1)
    return PipelineSettings.model_validate(
        base.model_dump() | {"stage": "local", "function_timeout_seconds": timeout}
    )


@contextmanager
def local_stack(
    logs: Path,
    *,
    settings: PipelineSettings | None = None,
    stripe_latency_ms: float = 30,
    stripe_jitter_ms: float = 20,
    seed: int = 0,
    function_timeout_seconds: int = LOCAL_FUNCTION_TIMEOUT_SECONDS,
    stripe_rate_limits: str = "sandbox",
    stream_faults: WorkerFaults | None = None,
) -> Iterator[LocalStack]:
    """Start moto, the webhook endpoint and the Stripe emulator sending its webhooks there,
    create the pipeline's resources, and run the stream consumers and the subscriber.

    ``function_timeout_seconds`` is short by default so retries come back quickly; the
    benchmark raises it so slow (realistic) Stripe calls are not cut off.
    ``stripe_rate_limits`` are Stripe's limits the emulator enforces: ``sandbox`` (25
    requests/s, what a test-mode key gets), ``live`` (100/s) or ``off``.
    ``stream_faults`` are installed in the stream consumers' workers (the soak's).

    The webhook endpoint starts before the emulator so the emulator is told its URL and
    signing secret at start (``--webhook-url``): they survive the emulator's ``reset``.
    Its deliveries run on their own thread, outside the lock a clock jump takes, and are
    signed with the emulator's clock, which only moves forward: a jump makes signatures
    newer, never stale (the SDK refuses only ``t`` older than its tolerance).
    """
    settings = local_settings(settings, function_timeout_seconds)
    webhook_secret = new_secret()
    with MotoServer(logs / "moto.log") as moto:
        aws = LOCAL_AWS_ENVIRONMENT | {"AWS_ENDPOINT_URL": moto.url} | _powertools(settings)
        webhook_environment = aws | {
            LEDGER_TABLE_ENV: settings.ledger_table_name,
            SECRET_NAME_ENV: settings.webhook_secret_name,
            TOLERANCE_ENV: str(settings.webhook_tolerance_seconds),
        }
        with (
            WebhookEndpointServer(logs / "webhook-endpoint.log", webhook_environment) as hook,
            EmulatorServer(
                logs / "stripe-emulator.log",
                api_key=STRIPE_API_KEY,
                latency_ms=stripe_latency_ms,
                jitter_ms=stripe_jitter_ms,
                seed=seed,
                rate_limits=stripe_rate_limits,
                webhook_url=hook.url,
                webhook_secret=webhook_secret,
            ) as stripe,
        ):
            session = boto3.Session(
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
                region_name="us-east-1",
            )
            resources = provision(
                session,
                settings,
                STRIPE_API_KEY,
                endpoint_url=moto.url,
                webhook_secret=webhook_secret,
            )
            stack = LocalStack(settings, moto.url, stripe.url, resources, session, logs)
            consumers = start_consumers(
                streams_client(session, moto.url),
                resources.table_stream_arn,
                resources.ledger_stream_arn,
                consumer_environment(
                    aws
                    | (stream_faults.to_environment(logs / "chaos.log") if stream_faults else {}),
                    resources.ledger_table_name,
                    resources.event_bus_name,
                ),
                logs,
            )
            subscriber = OutcomeSubscriber(stack.client("sqs"), resources.subscription_queue_url)
            subscriber.start()
            stack.outcomes = OutcomePipeline(
                consumers, subscriber, hook.url, EmulatorControl(stripe.url)
            )
            try:
                yield stack
            finally:
                stack.outcomes.stop()


def _powertools(settings: PipelineSettings) -> dict[str, str]:
    """The outcome functions' Powertools variables, as the stack sets them."""
    return {
        "POWERTOOLS_SERVICE_NAME": settings.resource_prefix,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


class Progress:
    """Counts batches as pollers report them, and prints a status line while running."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.invocations = self.records = self.failed = self.redelivered = 0
        self._lock = threading.Lock()
        # On a terminal one line is redrawn; in a log, a line every few seconds.
        self._redraw = sys.stderr.isatty()
        self._last_line = 0.0

    def on_batch(self, report: BatchReport) -> None:
        with self._lock:
            self.invocations += 1
            self.records += report.received
            self.failed += len(report.failed_message_ids)
            self.redelivered += report.redelivered

    def show(self, started: float, depth: int, dlq: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self._redraw and now - self._last_line < 5:
            return
        self._last_line = now
        line = (
            f"  {now - started:5.1f}s  invocations {self.invocations:4d}  "
            f"records {self.records:5d}  retried {self.failed:3d}  "
            f"queued {depth:4d}  DLQ {dlq:3d}"
        )
        print(
            "\r" + line if self._redraw else line,
            end="" if self._redraw else "\n",
            file=sys.stderr,
            flush=True,
        )

    def done(self) -> None:
        if self.enabled and self._redraw:
            print(file=sys.stderr)


def queue_depths(sqs: Any, resources: Resources) -> tuple[int, int]:
    """(messages in the queue, visible or in flight; messages in the DLQ)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    queue = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=names)
    dlq = sqs.get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=names[:1])
    depth = sum(int(queue["Attributes"][name]) for name in names)
    return depth, int(dlq["Attributes"][names[0]])


def send_workload(stack: LocalStack, workload: Workload, max_backlog: int | None = None) -> None:
    """Good requests through the producer client; poison straight onto the queue.

    With ``max_backlog`` the producer sends its next ten only while at most that many
    messages wait visible in the queue, as producers that send over time would: moto's SQS
    walks every message in the queue on each send, receive and attribute read (its own
    "very inefficient if a large number of messages are in-flight"), so a backlog of ten
    thousand makes each request cost milliseconds of its CPU, which the pipeline shares.
    """
    sqs = stack.client("sqs")
    producer = ChargeProducer(
        stack.resources.queue_url,
        sqs_client=sqs,
        limits=ChargeLimits(
            max_amount=stack.settings.max_amount, currencies=frozenset(stack.settings.currencies)
        ),
    )
    for start in range(0, len(workload.messages), 10):
        if max_backlog is not None:
            _wait_for_room(sqs, stack.resources.queue_url, max_backlog)
        chunk = workload.messages[start : start + 10]
        report = producer.send_many([json.loads(m.body) for m in chunk if not m.poison])
        if not report.ok:
            raise RuntimeError(f"the producer refused demo requests: {report.rejected}")
        poison = [m.body for m in chunk if m.poison]
        if poison:  # what a producer that skips the client could send
            sqs.send_message_batch(
                QueueUrl=stack.resources.queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(poison)],
            )


def _wait_for_room(sqs: Any, queue_url: str, max_backlog: int) -> None:
    """Wait until at most ``max_backlog`` messages wait visible in the queue."""
    while True:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) <= max_backlog:
            return
        time.sleep(0.1)


class WorkerFaults(Protocol):
    """Faults injected inside the workers (the soak's plan is one): the variables that
    switch them on, with ``WORKER_SETUP_ENV`` naming the hook that installs them."""

    def to_environment(self, log_path: Path) -> dict[str, str]: ...


@dataclass(frozen=True)
class RunOptions:
    """How the local event source and workers misbehave during a run."""

    seed: int = 0
    progress: bool = True
    #: Share of processed messages SQS hands out again (a lost delete, a second copy).
    redelivery_rate: float = 0.03
    #: Share of batches handed to two workers at once.
    twin_rate: float = 0.0
    chaos: WorkerFaults | None = None
    handler: str = DEFAULT_HANDLER
    timeout_seconds: float = 900
    #: Send while at most this many messages wait in the queue (``send_workload``); None
    #: sends everything at once (a backlog).
    max_backlog: int | None = None
    #: Extra variables for the workers' environment (the benchmark's probe reads some).
    environment: Mapping[str, str] = field(default_factory=dict)


class PipelineRun:
    """Pollers and workers running against a local stack until stopped."""

    def __init__(self, stack: LocalStack, options: RunOptions) -> None:
        self.stack = stack
        self.options = options
        self.sqs = stack.client("sqs")
        self.progress = Progress(options.progress)
        self.started = time.monotonic()
        self._sending: list[threading.Thread] = []
        rng = random.Random(options.seed)
        lock = threading.Lock()

        def chance(rate: float) -> Callable[..., bool]:
            def roll(*_args: Any) -> bool:
                with lock:
                    return rng.random() < rate

            return roll

        source = EventSource.configured(
            self.sqs,
            stack.resources.queue_url,
            stack.resources.queue_arn,
            stack.settings,
            wait_seconds=1,
            redeliver=chance(options.redelivery_rate),
        )
        environment: dict[str, str] = dict(options.environment)
        if options.chaos:
            environment |= options.chaos.to_environment(stack.logs / "chaos.log")
        workers = stack.workers(environment, options.handler)
        twins = stack.workers(environment, options.handler) if options.twin_rate else []
        self.poller = Poller(
            source,
            workers,
            on_batch=self.progress.on_batch,
            twins=twins,
            deliver_twice=chance(options.twin_rate),
        )

    def __enter__(self) -> PipelineRun:
        self.poller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.poller.stop()
        self.progress.done()

    def send(self, workload: Workload) -> threading.Thread:
        """Send the workload from a background thread, so progress shows meanwhile."""
        sender = threading.Thread(
            target=send_workload,
            args=(self.stack, workload, self.options.max_backlog),
            name="producer",
            daemon=True,
        )
        sender.start()
        self._sending.append(sender)
        return sender

    def wait_until_quiet(self) -> bool:
        """Wait until everything is sent, the queue is empty and no batch is in flight.

        Returns False on timeout.
        """
        quiet_checks = 0
        while time.monotonic() - self.started < self.options.timeout_seconds:
            depth, dlq = queue_depths(self.sqs, self.stack.resources)
            self.progress.show(self.started, depth, dlq)
            sending = any(sender.is_alive() for sender in self._sending)
            # SQS counts are approximate: require a few empty readings in a row.
            idle = depth == 0 and self.poller.busy == 0 and not sending
            quiet_checks = quiet_checks + 1 if idle else 0
            if quiet_checks >= 3:
                return True
            time.sleep(0.5)
        return False

    def finish(self, report: RunReport) -> RunReport:
        """Add the run's own counters to a report."""
        report.invocations = self.progress.invocations
        report.failed_records = self.progress.failed
        report.redelivered = self.progress.redelivered
        report.twin_deliveries = self.poller.twin_deliveries
        return report


def run_workload(stack: LocalStack, workload: Workload, options: RunOptions) -> RunReport:
    """Send the workload, run until the queue is empty, and check the result."""
    with PipelineRun(stack, options) as run:
        run.send(workload)
        run.wait_until_quiet()
    wall_seconds = time.monotonic() - run.started
    return run.finish(collect(stack, workload, wall_seconds, progress=options.progress))


def collect(
    stack: LocalStack,
    workload: Workload,
    wall_seconds: float,
    *,
    progress: bool = False,
    drain_timeout: float | None = None,
) -> RunReport:
    """Wait for the streams and webhooks to drain (bounded: ``drain_timeout``, by default
    a minute and a fiftieth of a second per request), read the final state from the table,
    the ledger, the DLQ, the subscription queue and the emulator, and check it."""
    outcomes = stack.outcomes
    if outcomes is not None:
        outcomes.wait_drained(
            drain_timeout if drain_timeout is not None else max(60.0, workload.requests * 0.02),
            progress,
        )
    dynamodb = stack.client("dynamodb")
    # One paginated Scan of the table, not a read per request (ten thousand of them took
    # two minutes of moto's time).
    statuses = read_statuses(dynamodb, stack.resources.table_name, workload.outcomes)
    records = {request_id: status.as_dict() for request_id, status in statuses.items()}
    letters = peek(stack.client("sqs"), stack.resources.dlq_url, limit=100_000)
    dead_letters = [(letter.reason, _request_id(letter.body)) for letter in letters]
    ledger = EmulatorControl(stack.stripe_url).ledger()
    succeeded = {
        request_id: int(entry.get("succeeded", 0))
        for request_id, entry in ledger["by_request_id"].items()
    }
    created = {
        request_id: int(entry.get("created", 0))
        for request_id, entry in ledger["by_request_id"].items()
    }
    checked = None
    if outcomes is not None:
        checked = check_outcomes(
            request_ids=set(workload.outcomes) | {rid for _, rid in dead_letters if rid},
            ledger_items=scan_ledger(dynamodb, stack.resources.ledger_table_name),
            payment_intents=EmulatorControl(stack.stripe_url).payment_intents(),
            dead_letters=dead_letters,
            events=outcomes.events(),
            drained=outcomes.drained,
            drain_seconds=outcomes.drain_seconds,
        )
    report = check(
        workload,
        records=records,
        dead_letters=dead_letters,
        succeeded_by_request=succeeded,
        payment_intents=int(ledger["payment_intents"]),
        wall_seconds=wall_seconds,
        created_by_request=created,
        outcomes=checked,
    )
    report.stripe_requests = {
        name: int(count) for name, count in ledger.get("requests", {}).items() if count
    }
    report.faults = {kind: int(count) for kind, count in ledger.get("faults", {}).items()}
    report.rate_limited = {
        limit: int(count) for limit, count in ledger.get("rate_limits", {}).items()
    }
    return report


def scan_ledger(dynamodb: Any, table_name: str) -> list[dict[str, Any]]:
    """Every ledger item, as plain values (a consistent scan, page by page)."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        items += [plain(item) for item in page.get("Items", [])]
    return items


def _request_id(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("request_id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None
