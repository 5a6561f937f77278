"""``chargeq local``: the pipeline on this machine, running until interrupted.

moto's server (SQS, DynamoDB and its streams, Secrets Manager, EventBridge, CloudWatch
Logs), the Stripe emulator with a ready-to-charge customer, the queue, DLQ, tables and
outcome bus from the project's settings, the charge function in worker processes behind
Lambda's event source, the stream consumers, and the webhook endpoint the emulator sends
Stripe's signed events to. It prints where everything is, writes the
state file ``--local`` reads (``chargeq.local_state``), and on SIGINT or SIGTERM stops the
pollers, then the workers, then the servers, and removes the state file.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from chargeq.failures import EXIT_ATTENTION, CommandFailed
from chargeq.local_state import LocalStackNotRunning, LocalStackState, read_running, state_file
from chargeq_local.runner import (
    STRIPE_API_KEY,
    LocalStack,
    PipelineRun,
    RunOptions,
    local_stack,
)
from stripe_emulator.fixtures import create_customer

#: Signals that end the run cleanly (SIGHUP: the terminal closed).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve(*, state_path: Path | None = None, out: TextIO = sys.stdout) -> int:
    """Run the local stack until SIGINT, SIGTERM or SIGHUP; returns the exit status.

    Raises ``CommandFailed`` when another ``chargeq local`` is already running.
    """
    path = state_path or state_file()
    _refuse_second_stack(path)
    logs = path.parent / "local-logs"
    shutil.rmtree(logs, ignore_errors=True)  # the previous run's
    logs.mkdir(parents=True)
    with _stop_on_signals() as stop:
        print("chargeq local: starting moto, the Stripe emulator and workers...", file=sys.stderr)
        with local_stack(logs) as stack:
            fixture = create_customer(stack.stripe_url, STRIPE_API_KEY)
            state = LocalStackState(
                pid=os.getpid(),
                aws_endpoint_url=stack.moto_url,
                region=stack.session.region_name or "us-east-1",
                stripe_url=stack.stripe_url,
                stage=stack.settings.stage,
                queue_url=stack.resources.queue_url,
                dlq_url=stack.resources.dlq_url,
                table_name=stack.resources.table_name,
                max_amount=stack.settings.max_amount,
                currencies=stack.settings.currencies,
                customer=fixture.id,
                payment_method=str(fixture.payment_method),
                logs=str(logs),
            )
            options = RunOptions(progress=False, redelivery_rate=0.0)
            with PipelineRun(stack, options):
                try:
                    state.write(path)
                    print(describe(stack, state, path), file=out, flush=True)
                    stop.wait()
                    print("chargeq local: stopping...", file=sys.stderr, flush=True)
                finally:
                    path.unlink(missing_ok=True)
    print(f"chargeq local: stopped; the logs stay in {logs}", file=sys.stderr)
    return 0


def _refuse_second_stack(path: Path) -> None:
    try:
        running = read_running(path)
    except LocalStackNotRunning:
        return
    raise CommandFailed(
        f"a local stack is already running (process {running.pid}): use it with --local, "
        f"or stop it (Ctrl-C in its terminal, or 'kill {running.pid}')",
        EXIT_ATTENTION,
    )


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the stop signals, with the previous handlers restored after."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def describe(stack: LocalStack, state: LocalStackState, path: Path) -> str:
    """What is running, and the commands that use it."""
    rows = [
        (
            "AWS endpoint (moto)",
            f"{state.aws_endpoint_url}  region {state.region}, any credentials",
        ),
        ("Stripe emulator", f"{state.stripe_url}  API key {STRIPE_API_KEY}"),
        ("queue", state.queue_url),
        ("DLQ", state.dlq_url),
        ("idempotency table", state.table_name),
        ("charge function", f"{stack.settings.max_concurrency} worker processes"),
        ("charges ledger", stack.resources.ledger_table_name),
        ("outcome bus", f"{stack.resources.event_bus_name}  (rule: source chargeq)"),
        ("outcome log group", stack.resources.outcome_log_group_name),
        ("stream consumers", "ledger writer, outcome publisher (worker processes)"),
        (
            "Stripe webhooks",
            f"{stack.outcomes.webhook_url if stack.outcomes else '-'}  (the emulator sends "
            "signed events here)",
        ),
        ("customer", f"{state.customer}  (payment method {state.payment_method})"),
        ("logs", state.logs),
        ("state for --local", str(path)),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"chargeq local: the pipeline is running (stage {state.stage}); Ctrl-C stops it", ""]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines += [
        "",
        "In another terminal:",
        f"  chargeq send --local --request-id order-1 --customer {state.customer} "
        f"--amount 1999 --payment-method {state.payment_method}",
        "  chargeq status --local order-1",
        "  chargeq dlq list --local",
    ]
    return "\n".join(lines)
