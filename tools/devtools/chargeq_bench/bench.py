"""``chargeq bench``: three handlers side by side on the local pipeline, in one run.

- ``naive``: the "before" job (``chargeq_bench.baselines.naive``): no idempotency record, no key.
- ``sequential``: the Powertools-docs handler (``chargeq_bench.baselines.sequential``): one record
  after another, idempotent per record, with the Stripe key.
- ``chargeq``: this project's handler, the records of a batch charged concurrently.

Each handler gets the same stack (moto, the Stripe emulator at a realistic latency with
jitter, the deployed function timeout) and the same three passes: a warm-up (not counted),
N fresh requests, then the same N requests sent again (duplicates whose first attempt
completed). A probe in the worker (``chargeq_bench.probe``) times every invocation and
counts its AWS requests; Stripe calls come from the emulator's ledger. Then one warm
worker per handler is handed batches of exactly ten fresh records, and fresh interpreters
time the handler's import and initialisation against importing boto3 and stripe alone.

Per-record latency is the duration of the invocation that carried the record: SQS deletes
a record only when its invocation returns, so that is how long each record waited on the
function. Billed duration is the sum of invocation durations, rounded up to the
millisecond as Lambda bills them.
"""

from __future__ import annotations

import bisect
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chargeq.deployment import load_settings
from chargeq.settings import PipelineSettings
from chargeq_bench.bench_report import SUBJECT, BenchReport, HandlerFigures
from chargeq_bench.cold_start import COLD_START_REPEATS, measure_cold_start
from chargeq_bench.costs import READ_OPERATIONS, WRITE_OPERATIONS
from chargeq_bench.probe import LOG_ENV, TARGET_ENV
from chargeq_local.customers import CustomerPool, create_pool
from chargeq_local.event_source import EventSource
from chargeq_local.run_logs import RunLogs
from chargeq_local.runner import (
    STRIPE_API_KEY,
    LocalStack,
    PipelineRun,
    RunOptions,
    local_stack,
    send_workload,
)
from chargeq_local.workers import DEFAULT_HANDLER, Worker
from chargeq_local.workload import Message, Workload
from charges.claims import record_key
from charges.rate_limits import WINDOW_SECONDS
from stripe_emulator import EmulatorControl

#: The handlers compared, in the order they run and are printed.
HANDLERS = {
    "naive": "chargeq_bench.baselines.naive:lambda_handler",
    "sequential": "chargeq_bench.baselines.sequential:lambda_handler",
    "chargeq": DEFAULT_HANDLER,
}
PROBE_HANDLER = "chargeq_bench.probe:lambda_handler"

#: Batches of exactly ten fresh records timed per handler (after one that warms up).
BATCH_OF_TEN_ROUNDS = 3

_STRIPE_ENDPOINTS = ("create", "retrieve", "list", "customer_retrieve")

#: The states a charge's stored result announces (a later ``failed`` or ``charged`` after
#: ``pending`` comes from a webhook, not from the record).
FIRST_STATES = ("charged", "declined", "pending")


@dataclass
class Invocation:
    """One line of the probe's log."""

    pid: int
    started: float
    duration_ms: float
    records: int
    failed: int | None
    requests: dict[str, int] = field(default_factory=dict)
    max_rss_kb: int = 0
    cpu_ms: float = 0.0
    #: Idempotency record key -> when its COMPLETED write returned, epoch seconds.
    completed_writes: dict[str, float] = field(default_factory=dict)
    #: When each of its Stripe requests was sent, epoch seconds.
    stripe_sent: list[float] = field(default_factory=list)

    def aws(self, prefix: str, operations: frozenset[str] | None = None) -> int:
        return sum(
            count
            for name, count in self.requests.items()
            if name.startswith(prefix)
            and (operations is None or name.rpartition(".")[2] in operations)
        )


def run_bench(
    *,
    requests: int = 300,
    latency_ms: float = 300,
    jitter_ms: float = 100,
    seed: int = 7,
    progress: bool = True,
    logs: Path | None = None,
    settings: PipelineSettings | None = None,
    handlers: tuple[str, ...] = tuple(HANDLERS),
    cold_start_repeats: int = COLD_START_REPEATS,
    stripe_rate_limits: str = "sandbox",
) -> BenchReport:
    """Measure ``handlers`` on ``requests`` fresh requests each, then their duplicates.

    ``cold_start_repeats`` of 0 skips timing the import in fresh interpreters.
    ``stripe_rate_limits`` are the emulator's (``sandbox``, the default: 25 requests/s;
    ``live``; ``off``, for tests of the report's plumbing only).
    """
    with RunLogs("chargeq-bench-", logs) as run_logs:
        log_dir = run_logs.path
        base = settings or load_settings()
        say = _say if progress else _quiet
        say(
            f"chargeq bench: {requests} requests per handler, Stripe {latency_ms:g} ms "
            f"± {jitter_ms:g} ms, seed {seed}; logs in {log_dir} (kept if the run fails)"
        )
        with local_stack(
            log_dir,
            settings=base,
            stripe_latency_ms=latency_ms,
            stripe_jitter_ms=jitter_ms,
            seed=seed,
            # The deployed timeout, so realistic Stripe calls are never cut off.
            function_timeout_seconds=base.function_timeout_seconds,
            # A sandbox's limits (25 requests/s) by default, as the demo and soak; "live"
            # gives production's 100/s for the account (25/s per endpoint in both).
            stripe_rate_limits=stripe_rate_limits,
        ) as stack:
            # The customers and their saved cards, through the Stripe API: a customer per
            # BENCH_REQUESTS_PER_CUSTOMER fresh requests, as a backlog of many customers'
            # charges. A pool of a dozen would make most batches charge some customer
            # twice, which the handler does one after another (Stripe locks the customer).
            # Made with Stripe answering at once (not measured; its rate limits stay).
            setup = EmulatorControl(stack.stripe_url)
            setup.set_latency(0)
            customers = create_pool(
                stack.stripe_url,
                STRIPE_API_KEY,
                saved=max(12, requests // BENCH_REQUESTS_PER_CUSTOMER),
            )
            setup.set_latency(latency_ms, jitter_ms)
            figures = [
                _measure(
                    stack,
                    name,
                    customers=customers,
                    requests=requests,
                    seed=seed,
                    latency=(latency_ms, jitter_ms),
                    say=say,
                )
                for name in handlers
            ]
            settings_used = stack.settings
        subject = next((f for f in figures if f.name == SUBJECT), None)
        if subject is not None and subject.double_charges:
            run_logs.keep()
        cold = None
        if cold_start_repeats:
            say("timing import and initialisation in fresh interpreters")
            cold = measure_cold_start(cold_start_repeats)
    return BenchReport(
        requests=requests,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        seed=seed,
        concurrency=settings_used.max_concurrency,
        batch_size=settings_used.batch_size,
        records_in_flight=settings_used.records_in_flight,
        memory_mb=settings_used.function_memory_mb,
        handlers=figures,
        cold_start=cold,
        stripe_rate_limit=settings_used.stripe_rate_limit,
    )


def _measure(
    stack: LocalStack,
    name: str,
    *,
    customers: CustomerPool,
    requests: int,
    seed: int,
    latency: tuple[float, float],
    say: Callable[[str], None],
) -> HandlerFigures:
    """The three passes and the batches of ten for one handler; see the module docstring."""
    probe_log = stack.logs / f"bench-{name}.jsonl"
    function_log = stack.logs / "function.log"
    environment = {TARGET_ENV: HANDLERS[name], LOG_ENV: str(probe_log)}
    options = RunOptions(
        seed=seed,
        progress=False,
        redelivery_rate=0.0,  # every duplicate is one the bench sends, and counted
        handler=PROBE_HANDLER,
        environment=environment,
        timeout_seconds=900 + 2 * requests,
    )
    control = EmulatorControl(stack.stripe_url)
    fresh = _workload(f"bench-{seed}-{name}", requests, customers)
    with PipelineRun(stack, options) as run:
        say(f"  {name}: warming up")
        warm_up = 2 * stack.settings.batch_size * stack.settings.max_concurrency
        _pass(stack, run, _workload(f"bench-{seed}-{name}-warm", warm_up, customers))
        say(f"  {name}: {requests} fresh requests")
        before_fresh = _marks(probe_log, function_log, control)
        _pass(stack, run, fresh)
        if stack.outcomes is not None:  # every outcome event of the pass on the bus
            stack.outcomes.wait_drained(60.0 + requests * 0.05, progress=False)
        before_again = _marks(probe_log, function_log, control)
        say(f"  {name}: the same {requests} requests again")
        _pass(stack, run, fresh)
        after = _marks(probe_log, function_log, control)
    say(f"  {name}: batches of ten")
    batches = _batches_of_ten(
        stack, environment, probe_log, f"bench-{seed}-{name}-ten", latency, customers
    )
    invocations = _invocations(probe_log)
    first = invocations[before_fresh.lines : before_again.lines]
    again = invocations[before_again.lines : after.lines]
    ids = set(fresh.outcomes)
    ledger = after.ledger
    return HandlerFigures(
        name=name,
        fresh_records=sum(item.records for item in first),
        duplicate_records=sum(item.records for item in again),
        invocations=len(first),
        records_per_second=_throughput(first),
        latency_p50_ms=_percentile(_per_record(first), 50),
        latency_p99_ms=_percentile(_per_record(first), 99),
        billed_ms=sum(math.ceil(item.duration_ms) for item in first),
        cpu_ms=sum(item.cpu_ms for item in first),
        dynamodb_fresh=sum(item.aws("dynamodb.") for item in first),
        dynamodb_writes_fresh=sum(item.aws("dynamodb.", WRITE_OPERATIONS) for item in first),
        dynamodb_reads_fresh=sum(item.aws("dynamodb.", READ_OPERATIONS) for item in first),
        dynamodb_duplicate=sum(item.aws("dynamodb.") for item in again),
        stripe_fresh=_stripe_calls(before_again.ledger) - _stripe_calls(before_fresh.ledger),
        stripe_duplicate=_stripe_calls(after.ledger) - _stripe_calls(before_again.ledger),
        failed_records=sum(item.failed or 0 for item in first + again),
        double_charges=sum(
            1
            for request_id, entry in ledger["by_request_id"].items()
            if request_id in ids and int(entry.get("succeeded", 0)) > 1
        ),
        peak_memory_mb=max(item.max_rss_kb for item in invocations) / 1024,
        log_bytes=before_again.log_bytes - before_fresh.log_bytes,
        batch_of_ten_ms=batches.fixed,
        batch_of_ten_jitter_ms=batches.jittered,
        batch_of_ten_floor_ms=batches.floor,
        stripe_requests_per_second=_backlog_rate(first),
        stripe_rate_limited=_rate_limited(before_again.ledger) - _rate_limited(before_fresh.ledger),
        outcome_lag_ms=_outcome_lags(stack, fresh, first),
    )


def _outcome_lags(
    stack: LocalStack, workload: Workload, invocations: list[Invocation]
) -> list[float]:
    """Per fresh request: from its idempotency record's COMPLETED write (the probe's
    ``after-call`` time in the worker) to its first outcome event's arrival in the
    subscription queue (``SentTimestamp``, ms), in milliseconds. Requests without either
    (a handler that keeps no records) give no sample."""
    if stack.outcomes is None:
        return []
    completed: dict[str, float] = {}
    for invocation in invocations:
        completed.update(invocation.completed_writes)
    arrived: dict[str, int] = {}
    for event in stack.outcomes.events():
        if event.state in FIRST_STATES:
            seen = arrived.get(event.request_id)
            arrived[event.request_id] = min(seen, event.sent_ms) if seen else event.sent_ms
    lags = []
    for request_id in workload.outcomes:
        written = completed.get(record_key(request_id))
        sent = arrived.get(request_id)
        if written is not None and sent is not None:
            lags.append(sent - written * 1000)
    return lags


@dataclass(frozen=True)
class _Marks:
    lines: int
    log_bytes: int
    ledger: dict[str, Any]


def _marks(probe_log: Path, function_log: Path, control: EmulatorControl) -> _Marks:
    """Where the probe log, the function log and the Stripe ledger stand between passes."""
    lines = len(probe_log.read_text().splitlines()) if probe_log.exists() else 0
    size = function_log.stat().st_size if function_log.exists() else 0
    return _Marks(lines, size, control.ledger())


def _pass(stack: LocalStack, run: PipelineRun, workload: Workload) -> None:
    send_workload(stack, workload)
    if not run.wait_until_quiet():
        raise RuntimeError("the benchmark's queue did not drain before the run's timeout")


def _workload(prefix: str, requests: int, customers: CustomerPool) -> Workload:
    """``requests`` good charges with distinct IDs, each naming a saved customer's card;
    all should end charged."""
    workload = Workload()
    for index in range(requests):
        request_id = f"{prefix}-{index:05d}"
        saved = customers.saved[index % len(customers.saved)]
        body = {
            "version": 1,
            "request_id": request_id,
            "customer": saved.id,
            "amount": 1000 + index,
            "currency": "usd",
            "payment_method": saved.payment_method,
        }
        workload.messages.append(Message(json.dumps(body)))
        workload.outcomes[request_id] = "charged"
    return workload


@dataclass(frozen=True)
class _BatchesOfTen:
    """Durations (ms) of invocations of exactly ten fresh records, by Stripe latency."""

    fixed: list[float]
    jittered: list[float]
    floor: list[float]


def _batches_of_ten(
    stack: LocalStack,
    environment: dict[str, str],
    probe_log: Path,
    prefix: str,
    latency: tuple[float, float],
    customers: CustomerPool,
) -> _BatchesOfTen:
    """Batches of exactly ten fresh records on one warm worker.

    First with every Stripe call taking exactly L (the target's terms), then with the run's
    jitter (a batch waits for its slowest call), then with Stripe answering at once: the
    floor this machine adds (moto's DynamoDB, the interpreter), to tell apart what the
    protocol costs from what the local stand-ins cost.

    Each batch starts a window (``charges.rate_limits``) after the worker's last Stripe
    request, as a batch does on a container that has its share free: ten records are
    within a share of 12 per window, so they go at once. Batches back to back on one
    container are paced to its share instead; the backlog's rate measures that.
    """
    sqs = stack.client("sqs")
    resources = stack.resources
    control = EmulatorControl(stack.stripe_url)
    source = EventSource(sqs, resources.queue_url, resources.queue_arn, batch_size=10)
    worker = Worker(
        stack.function_environment() | environment,
        stack.logs / "function.log",
        stack.settings.function_timeout_seconds,
        PROBE_HANDLER,
    )

    def invoke_ten(label: str) -> float:
        send_workload(stack, _workload(f"{prefix}-{label}", 10, customers))
        messages: list[dict[str, Any]] = []
        while len(messages) < 10:
            messages += source.receive()
        time.sleep(WINDOW_SECONDS)
        lines = len(_invocations(probe_log))
        source.deliver(messages, worker.invoke)
        return sum(item.duration_ms for item in _invocations(probe_log)[lines:])

    def rounds(label: str, ms: float, jitter_ms: float = 0.0) -> list[float]:
        control.set_latency(ms, jitter_ms)
        return [invoke_ten(f"{label}{round_}") for round_ in range(BATCH_OF_TEN_ROUNDS)]

    latency_ms, jitter_ms = latency
    worker.start()
    try:
        invoke_ten("warm")  # the worker's first invocation imports the handler
        return _BatchesOfTen(
            fixed=rounds("l", latency_ms),
            jittered=rounds("j", latency_ms, jitter_ms),
            floor=rounds("z", 0),
        )
    finally:
        control.set_latency(latency_ms, jitter_ms)
        worker.stop()


def _invocations(probe_log: Path) -> list[Invocation]:
    if not probe_log.exists():
        return []
    return [Invocation(**json.loads(line)) for line in probe_log.read_text().splitlines()]


def _throughput(invocations: list[Invocation]) -> float:
    """Records per second from the first invocation's start to the last one's end."""
    return _rate(sum(item.records for item in invocations), invocations)


def _rate(count: int, invocations: list[Invocation]) -> float:
    """``count`` per second from the first invocation's start to the last one's end."""
    if not invocations:
        return 0.0
    start = min(item.started for item in invocations)
    end = max(item.started + item.duration_ms / 1000 for item in invocations)
    return count / max(end - start, 1e-9)


#: Fresh requests per customer saved with a card in the bench's pool.
BENCH_REQUESTS_PER_CUSTOMER = 2

#: Share of a pass's Stripe requests, in the middle, over which its backlog's rate is read.
BACKLOG_SHARE = 0.9


def _backlog_rate(invocations: list[Invocation]) -> float:
    """Stripe requests per second while the pass had a backlog: over the middle
    ``BACKLOG_SHARE`` of its Stripe requests by send time, leaving out the start (the
    containers' first batches) and the end (the last batches, and any record waiting out
    a visibility timeout), when the queue had no backlog to keep Stripe busy.

    The requests are counted over a whole number of rate-limit windows from the first
    one: a container sends its batch in a burst as its window turns over, and a span
    from one request to another would count a burst at both of its ends. 0.0 when the
    pass is too short for that (the report says it was not measured)."""
    sent = sorted(time for item in invocations for time in item.stripe_sent)
    if len(sent) < 20:
        return 0.0
    cut = round(len(sent) * (1 - BACKLOG_SHARE) / 2)
    start, end = sent[cut], sent[len(sent) - cut - 1]
    windows = math.floor((end - start) / WINDOW_SECONDS)
    if windows < 1:
        return 0.0
    span = windows * WINDOW_SECONDS
    counted = bisect.bisect_left(sent, start + span) - bisect.bisect_left(sent, start)
    return counted / span


def _per_record(invocations: list[Invocation]) -> list[float]:
    return [item.duration_ms for item in invocations for _ in range(item.records)]


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _stripe_calls(ledger: dict[str, Any]) -> int:
    """API requests to the endpoints the handlers call."""
    requests = ledger["requests"]
    return sum(int(requests.get(name, 0)) for name in _STRIPE_ENDPOINTS)


def _rate_limited(ledger: dict[str, Any]) -> int:
    return int(ledger["requests"].get("rate_limited", 0))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _quiet(_text: str) -> None:
    pass
