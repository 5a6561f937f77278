"""``chargeq chaos``: a fault soak of the local pipeline, with every fault kind mixed in.

From one seed: Stripe answers 429, 500 and 503, saves 500s, drops connections before and
after committing, slows down and hangs past the function timeout, and enforces a sandbox's
rate limits; workers are SIGKILLed before and after Stripe; DynamoDB throttles before and
after the charge; SQS hands out messages again and to two workers at once. The workload
mixes customers without ``payment_method`` (legacy sources and PaymentMethod-only
customers, whose invoice default is charged), bank debits (``pending``, settled later on
Stripe's clock), soft declines (tried again under attempt keys) and hard ones. Some requests
crash after Stripe on every delivery until the redrive policy moves them to the DLQ; then
Stripe's clock jumps 25 hours (its idempotency keys are pruned, the bank debits settle) and
the DLQ is redriven with SQS's move task (``StartMessageMoveTask``: new message IDs, receive
counts from zero). The invariants are checked at the end.

The outcome side has its own faults: Stripe's webhooks delivered twice and held back so
later ones overtake them (emulator rules ``webhook_duplicate``, ``webhook_delay``), forged
webhooks (no, a wrong, a stale signature, a tampered body: each must get a 400 and write
nothing), the stream consumers killed between their read and their write (``StreamChaos``),
and both streams replayed from ``TRIM_HORIZON`` halfway through the traffic. Their invariants: the
ledger agrees with Stripe for every request, every state change is published at least
once, nothing is published that did not happen (``chargeq_local.outcome_check``).

The same soak can run the naive "before" handler for contrast, on a smaller share of the
requests by default (``NAIVE_REQUESTS``): it exists only to show double charges, and Stripe's
sandbox rate limit (25 requests/s) makes every request cost the same 40 ms of Stripe's time
whichever handler sends it.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import sys
import time
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chargeq.dlq import move_all
from chargeq_local.customers import create_pool
from chargeq_local.report import RunReport
from chargeq_local.run_logs import RunLogs
from chargeq_local.runner import (
    STRIPE_API_KEY,
    LocalStack,
    PipelineRun,
    RunOptions,
    collect,
    local_stack,
)
from chargeq_local.workload import Message, Workload, build_workload
from chargeq_soak.faults import ChaosPlan, StreamChaos, injected_faults
from chargeq_soak.forgery import send_forgeries
from stripe_emulator import EmulatorControl

NAIVE_HANDLER = "chargeq_bench.baselines.naive:lambda_handler"

#: Stripe's misbehaviour during the soak (emulator fault rules).
STRIPE_FAULTS: list[dict[str, Any]] = [
    {"kind": "rate_limit", "probability": 0.03},
    {"kind": "server_error_before", "status": 503, "probability": 0.02},
    {"kind": "server_error_before", "status": 500, "probability": 0.01},
    {"kind": "server_error_after", "probability": 0.01},
    {"kind": "drop_after_commit", "probability": 0.03},
    {"kind": "drop_before", "probability": 0.01},
    {"kind": "latency", "ms": 200, "jitter_ms": 150, "probability": 0.05},
    # Longer than the local function timeout: the Lambda times out mid-call.
    {"kind": "hang", "seconds": 3, "probability": 0.002},
    # Stripe's webhooks: at least once, in no set order (docs.stripe.com/webhooks).
    {"kind": "webhook_duplicate", "probability": 0.05},
    {"kind": "webhook_delay", "seconds": 2, "probability": 0.05},
]

#: Stream consumers killed between their read and their write, per record (``StreamChaos``):
#: a half per cent, or two records' worth in a short soak. Each crash costs the consumer a
#: cold start, so the streams lag while traffic flows and catch up before the check.
CONSUMER_CRASH_RATE = 0.005

#: Messages waiting in the queue at most while the workload is sent (``RunOptions``):
#: about ten seconds of work for the pipeline, so it never idles, while moto's SQS, whose
#: every request walks the whole queue, stays cheap.
BACKLOG = 40

#: Share of requests that crash after Stripe on every delivery until redriven (each crash
#: fails its whole batch, so a few go a long way). They are drawn from the first half of the
#: stream, so their chains of crashes (max_receive_count deliveries, a visibility timeout
#: apart) end while traffic still flows rather than after it.
DOOMED_SHARE = 0.0025

#: Requests the naive handler gets by default (at most the soak's own count): enough to
#: show its double charges (a few dozen at this size).
NAIVE_REQUESTS = 400


PHASE_SETUP = "setup: customers made"
PHASE_TRAFFIC = "phase 1: traffic with faults"
PHASE_REDRIVE = "phase 2: clock +25 h, move task"
PHASE_REDRIVEN = "phase 3: redriven processed"
PHASE_CHECK = "final check"


@dataclass
class SoakReport:
    """A run report plus the faults injected, for the soak's table."""

    handler: str
    run: RunReport
    faults: Counter[str] = field(default_factory=Counter)
    redriven: int = 0
    #: Wall time of each phase, seconds: traffic, clock jump and redrive, redriven
    #: messages processed, final check.
    phases: dict[str, float] = field(default_factory=dict)
    #: Requests moto's server answered (SQS, DynamoDB, Secrets Manager), from its log.
    moto_requests: int = 0
    #: Forged webhooks the endpoint did not refuse with a 400 (must be 0).
    forged_accepted: int = 0

    @property
    def invariants_hold(self) -> bool:
        return self.run.invariants_hold and self.forged_accepted == 0

    def rows(self) -> list[tuple[str, Any]]:
        run = self.run
        # The naive handler keeps no records, so "lost" cannot be read for it.
        unknowable = "n/a" if self.handler == "naive" else None
        rows: list[tuple[str, Any]] = [
            ("requests", run.requests),
            ("messages sent", run.messages),
            ("invocations", run.invocations),
            ("PaymentIntents at Stripe", run.payment_intents),
            ("charged", unknowable or run.charged),
            ("declined", unknowable or run.declined),
            ("pending (bank debits)", unknowable or run.pending),
            ("double charges (must be 0)", run.double_charges),
            ("lost (must be 0)", unknowable or run.lost),
            ("wrong outcome (must be 0)", unknowable or run.wrong_outcome),
            ("redriven from the DLQ", self.redriven),
        ]
        for label, value in run.outcome_rows():
            # The naive handler keeps no records, so the ledger cannot agree with Stripe.
            rows.append((label, unknowable if "must be 0" in label and unknowable else value))
        rows.append(("forged webhooks not refused (must be 0)", self.forged_accepted))
        rows += [(f"DLQ: {reason}", n) for reason, n in sorted(run.dead_letters.items())]
        rows += [(f"fault: {kind}", n) for kind, n in sorted(self.faults.items())]
        rows += [(f"Stripe requests: {kind}", n) for kind, n in sorted(run.stripe_requests.items())]
        rows += [(f"Stripe 429: {limit}", n) for limit, n in sorted(run.rate_limited.items())]
        rows += [("moto requests", self.moto_requests)]
        rows += [(f"{phase} (s)", f"{seconds:.1f}") for phase, seconds in self.phases.items()]
        rows += [("wall time (s)", f"{run.wall_seconds:.1f}")]
        traffic = self.phases.get(PHASE_TRAFFIC)
        if traffic:
            rows += [("messages/s in phase 1", f"{run.messages / traffic:.1f}")]
        return rows


def render(reports: list[SoakReport]) -> str:
    """The soak table, one column per handler."""
    labels: list[str] = []
    for report in reports:
        # A row only one handler has goes after its neighbour in that handler's order,
        # so the DLQ and fault rows stay together.
        previous = -1
        for label, _ in report.rows():
            if label in labels:
                previous = labels.index(label)
            else:
                previous += 1
                labels.insert(previous, label)
    columns = [dict(report.rows()) for report in reports]
    width = max(len(label) for label in labels)
    header = f"  {'':<{width}}" + "".join(f"  {report.handler:>12}" for report in reports)
    lines = [header]
    for label in labels:
        cells = "".join(f"  {column.get(label, '-')!s:>12}" for column in columns)
        lines.append(f"  {label:<{width}}{cells}")
    return "\n".join(lines)


def _options(workload: Workload, *, seed: int, naive: bool, progress: bool) -> RunOptions:
    """The soak's run: chaos aimed at the workload (``naive`` runs the "before" handler)."""
    rng = random.Random(seed)
    early = _request_ids(workload.messages[: len(workload.messages) // 2])
    charged_ids = [
        rid for rid, outcome in workload.outcomes.items() if outcome == "charged" and rid in early
    ]
    doomed = tuple(rng.sample(charged_ids, max(1, int(len(charged_ids) * DOOMED_SHARE))))
    # Per request attempt. A kill fails the whole batch of ten and costs a cold start, so
    # these stay small; the named scenarios in tests/faults aim each one deliberately.
    plan = ChaosPlan(
        seed=seed,
        kill_before_stripe=0.003,
        kill_after_stripe=0.003,
        throttle_claim=0.01,
        throttle_record=0.005,
        doomed=doomed,
    )
    return RunOptions(
        seed=seed,
        progress=progress,
        # A phase ends when the queue is quiet; this is only a backstop against a hang, so
        # it grows with the workload (a 10,000-request phase 1 takes over 15 minutes).
        timeout_seconds=max(900.0, workload.requests * 0.5),
        twin_rate=0.03,
        max_backlog=BACKLOG,
        chaos=None if naive else plan,
        handler=NAIVE_HANDLER if naive else RunOptions().handler,
    )


def _request_ids(messages: list[Message]) -> set[str]:
    return {json.loads(message.body)["request_id"] for message in messages if not message.poison}


def run_soak(
    *,
    requests: int = 2000,
    seed: int = 1,
    naive: bool = False,
    progress: bool = True,
    logs: Path | None = None,
) -> SoakReport:
    """One soak of ``requests`` requests; ``naive`` runs the "before" handler instead."""
    name = "naive" if naive else "chargeq"
    say = _say if progress else _quiet
    with RunLogs(f"chargeq-soak-{name}-", logs) as run_logs:
        log_dir = run_logs.path
        say(f"[{name}] logs in {log_dir} (kept if an invariant breaks)")
        # A sandbox's rate limits, on top of the injected 429s below.
        stream_chaos = StreamChaos(
            seed=seed,
            crash_before_ledger_write=max(CONSUMER_CRASH_RATE, 2 / requests),
            crash_before_put_events=max(CONSUMER_CRASH_RATE, 2 / requests),
        )
        with local_stack(
            log_dir,
            seed=seed,
            stripe_rate_limits="sandbox",
            stream_faults=None if naive else stream_chaos,
        ) as stack:
            started = time.monotonic()
            phases: dict[str, float] = {}
            # Customers and cards through the Stripe API, before any fault is armed: a
            # customer per 50 requests of its kind, so look-ups stay one page
            # (``chargeq_local.customers``). They count in the wall time.
            say(f"[{name}] setup: customers and cards through the Stripe API")
            pool = create_pool(stack.stripe_url, STRIPE_API_KEY, requests=requests)
            workload = build_workload(requests, seed, pool)
            options = _options(workload, seed=seed, naive=naive, progress=progress)
            control = EmulatorControl(stack.stripe_url)
            for rule in STRIPE_FAULTS:
                control.add_fault(rule)
            phases[PHASE_SETUP] = time.monotonic() - started
            mark = time.monotonic()
            say(
                f"[{name}] phase 1 of 3: {requests} requests through the pipeline with "
                + ("every fault mixed in" if not naive else "Stripe's faults and SQS's repeats")
            )
            with PipelineRun(stack, options) as run:
                # Halfway through the traffic both stream consumers lose their place and
                # read their streams again from the start, while charges keep coming: the
                # ledger's conditional writes and the events' stable IDs must absorb it.
                half = len(workload.messages) // 2
                run.send(Workload(messages=workload.messages[:half])).join()
                assert stack.outcomes is not None
                stack.outcomes.replay_streams()
                run.send(Workload(messages=workload.messages[half:]))
                forged, forged_accepted = _forge(stack, requests, seed)
                run.wait_until_quiet()
            phases[PHASE_TRAFFIC] = time.monotonic() - mark
            # A day later, as far as Stripe is concerned: its keys are pruned and the bank
            # debits settle. An operator redrives the DLQ with SQS's move task.
            mark = time.monotonic()
            control.advance(25 * 3600)
            say(
                f"[{name}] phase 2 of 3: Stripe's clock jumps 25 hours (its idempotency keys "
                "are pruned, bank debits settle); the DLQ is redriven by a move task"
            )
            redriven = _redrive(stack)
            phases[PHASE_REDRIVE] = time.monotonic() - mark
            mark = time.monotonic()
            calm = RunOptions(seed=seed + 1, progress=progress, handler=options.handler)
            if not naive:
                calm = RunOptions(
                    seed=seed + 1,
                    progress=progress,
                    chaos=ChaosPlan(seed=seed, throttle_claim=0.02, kill_after_stripe=0.005),
                )
            say(
                f"[{name}] phase 3 of 3: the {redriven} redriven messages (poison, crashes, "
                "retries exhausted) are processed again"
            )
            with PipelineRun(stack, calm) as second:
                second.wait_until_quiet()
            phases[PHASE_REDRIVEN] = time.monotonic() - mark
            mark = time.monotonic()
            report = collect(stack, workload, time.monotonic() - started, progress=progress)
            phases[PHASE_CHECK] = time.monotonic() - mark
            report.wall_seconds = time.monotonic() - started
            run.finish(report)
            faults = Counter(control.ledger().get("faults", {}))
            faults.update(injected_faults(log_dir / "chaos.log"))
            faults["twin delivery"] += report.twin_deliveries
            faults["SQS redelivery"] += report.redelivered
            faults.update(forged)
            faults["stream_replay"] += len(stack.outcomes.consumers)
        moto_requests = _count_requests(log_dir / "moto.log")
        soak = SoakReport(name, report, faults, redriven, phases, moto_requests, forged_accepted)
        if not naive and not soak.invariants_hold:
            run_logs.keep()
        return soak


def _forge(stack: LocalStack, requests: int, seed: int) -> tuple[Counter[str], int]:
    """Send forged webhooks to the stack's endpoint (a fiftieth of the requests, at least
    eight: two of each kind) while traffic flows; returns (sent by kind, not refused)."""
    assert stack.outcomes is not None
    secret = stack.client("secretsmanager").get_secret_value(
        SecretId=stack.resources.webhook_secret_name
    )["SecretString"]
    sent, accepted = send_forgeries(
        stack.outcomes.webhook_url, secret, max(8, requests // 50), f"forged-{seed}"
    )
    return Counter(sent), accepted


def _count_requests(moto_log: Path) -> int:
    """Requests in moto's access log (werkzeug's line per request: ``"POST / HTTP/1.1" 200``)."""
    if not moto_log.exists():
        return 0
    with moto_log.open(errors="replace") as log:
        return sum(1 for line in log if " HTTP/1.1" in line)


def _redrive(stack: LocalStack) -> int:
    """Redrive the whole DLQ with SQS's move task, as ``chargeq dlq redrive --move-task`` does.

    The task takes no filter: poison comes back too and is dead-lettered again with its
    reason; the messages that crashed or ran out of retries are charged (or found charged).
    """
    report = move_all(
        stack.client("sqs"), stack.resources.dlq_url, stack.resources.queue_url, poll_seconds=0.5
    )
    return report.moved


#: Why "redriven" and the DLQ rows do not add up, printed under the table.
COUNTS_NOTE = (
    "Why 'redriven' and the DLQ rows differ: the DLQ rows count what is left in the DLQ at "
    "the end. The move task redrove the whole DLQ in phase 2 and the messages went through "
    "the pipeline again in phase 3: chargeq charged the ones that crashed or ran out of "
    "retries, so they are in none of its DLQ rows, and dead-lettered the poison again with "
    "its reason; the naive job failed on them again, so the redrive policy put them back "
    "(its redrive_policy row)."
)


def naive_note(requests: int, naive_share: int) -> str:
    """Why the naive column ran fewer requests, printed under the table."""
    return (
        f"The naive handler ran {naive_share} of the {requests} requests (--naive-requests), "
        "alongside chargeq's run on a local stack of its own (its own emulator, with the same "
        "sandbox rate limits): it is there only to show double charges, which a few hundred "
        "requests already do."
    )


def verdict(report: SoakReport) -> str:
    """One line: did this handler keep the invariants?"""
    run = report.run
    if report.handler == "naive":
        # The "before" job keeps no records: only double charges can be read for it.
        if run.double_charges:
            return (
                f"naive: charged {run.double_charges} request(s) twice - what chargeq's "
                "idempotency prevents"
            )
        return "naive: no double charge this time (lost and wrong outcomes cannot be read)"
    if report.invariants_hold:
        return (
            "chargeq: OK - every request charged at most once and accounted for; the ledger "
            "agrees with Stripe, every change published, no forged webhook accepted"
        )
    problems = run.problems[:5]
    if report.forged_accepted:
        problems.append(f"{report.forged_accepted} forged webhook(s) not refused")
    return "chargeq: FAILED - " + "; ".join(problems)


def main(
    requests: int,
    seed: int,
    handlers: list[str],
    progress: bool,
    as_json: bool,
    naive_requests: int | None = None,
) -> int:
    """Run the soak for each handler and print the table; non-zero if chargeq broke.

    The naive handler gets ``naive_requests`` (default: ``NAIVE_REQUESTS``, at most
    ``requests``): its column only shows that it charges twice. With both handlers the
    naive one runs alongside, quietly, in a process of its own with its own local stack
    (its own emulator: another sandbox account with the same rate limits).
    """
    naive_share = min(requests, NAIVE_REQUESTS if naive_requests is None else naive_requests)
    alongside = None
    if "naive" in handlers and "chargeq" in handlers:
        if progress:
            print(
                f"chaos soak: naive, {naive_share} requests, seed {seed}, alongside (quiet)",
                file=sys.stderr,
            )
        alongside = _alongside(naive_share, seed)
    reports: dict[str, SoakReport] = {}
    for handler in handlers:
        if handler == "naive" and alongside is not None:
            continue
        count = naive_share if handler == "naive" else requests
        if progress:
            print(f"chaos soak: {handler}, {count} requests, seed {seed}", file=sys.stderr)
        reports[handler] = run_soak(
            requests=count, seed=seed, naive=handler == "naive", progress=progress
        )
    if alongside is not None:
        if progress:
            print("chaos soak: waiting for the naive handler's run", file=sys.stderr)
        reports["naive"] = alongside.result()
    ordered = [reports[handler] for handler in handlers]
    if as_json:
        print(
            json.dumps(
                [
                    dict(report.rows()) | {"handler": report.handler, "verdict": verdict(report)}
                    for report in ordered
                ],
                indent=2,
                default=str,
            )
        )
    else:
        print(render(ordered))
        print()
        print(COUNTS_NOTE)
        if "naive" in handlers and naive_share < requests:
            print()
            print(naive_note(requests, naive_share))
        print()
        print("\n".join(verdict(report) for report in ordered))
    ours = [report for report in ordered if report.handler == "chargeq"]
    return 0 if all(report.invariants_hold for report in ours) else 1


def _alongside(requests: int, seed: int) -> Future[SoakReport]:
    """The naive handler's soak in a child process, started before any thread of this one
    (so forking is safe). Its own servers and workers are its children: Ctrl-C reaches
    the whole process group and each run stops its own."""
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = executor.submit(run_soak, requests=requests, seed=seed, naive=True, progress=False)
    executor.shutdown(wait=False)
    return future


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _quiet(_text: str) -> None:
    pass
