"""Fault-suite fixtures: the local stack over HTTP, and workers started with a chaos plan."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chargeq.dlq import peek
from chargeq.status import read_status
from chargeq_local.event_source import BatchReport, EventSource
from chargeq_local.runner import STRIPE_API_KEY, LocalStack, local_stack
from chargeq_local.workers import Worker
from chargeq_soak.faults import ChaosPlan
from stripe_emulator import EmulatorControl
from stripe_emulator.fixtures import create_customer

#: The customer this test's charges name and its saved card, made through the Stripe API
#: by the ``faults`` fixture (a test-mode fixture, not an invented ID).
SHOP: dict[str, str] = {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    logs: Path = tmp_path_factory.mktemp("faults")
    with local_stack(logs) as running:
        yield running


@dataclass
class Faults:
    """One scenario's view of the pipeline: send, run, and read the outcome back."""

    stack: LocalStack
    stripe: EmulatorControl
    worker: Worker
    source: EventSource

    def send(self, *bodies: str) -> None:
        sqs = self.stack.client("sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=self.stack.resources.queue_url, MessageBody=body)

    def run_once(self) -> BatchReport:
        return self.source.poll_once(self.worker.invoke, retry_now=True)

    def settle(self, rounds: int = 12) -> list[BatchReport]:
        """Deliver until the queue is empty. After a failure, wait out the in-progress
        record's expiry (the local function timeout) as a real redelivery would."""
        reports = []
        for _ in range(rounds):
            report = self.run_once()
            if not report.received:
                break
            reports.append(report)
            if report.failed_message_ids:
                time.sleep(self.stack.settings.function_timeout_seconds + 0.2)
        return reports

    def state(self, request_id: str) -> dict[str, Any]:
        dynamodb = self.stack.client("dynamodb")
        return read_status(dynamodb, self.stack.resources.table_name, request_id).as_dict()

    def charges(self, request_id: str) -> dict[str, Any]:
        entry = self.stripe.ledger()["by_request_id"].get(request_id, {})
        return {"created": entry.get("created", 0), "succeeded": entry.get("succeeded", 0)}

    def dead_letter_reasons(self, request_id: str | None = None) -> list[str]:
        letters = peek(self.stack.client("sqs"), self.stack.resources.dlq_url, limit=10_000)
        return sorted(
            letter.reason
            for letter in letters
            if request_id is None or f'"{request_id}"' in letter.body
        )


FaultsFactory = Callable[..., Faults]


@pytest.fixture(scope="module")
def shop(stack: LocalStack) -> Iterator[None]:
    """One customer for the module's stack, as the stack itself lives for the module (so a
    request ID seen in one test keeps the same payload in the next)."""
    customer = create_customer(stack.stripe_url, STRIPE_API_KEY)
    assert customer.payment_method is not None
    SHOP.update(customer=customer.id, payment_method=customer.payment_method)
    yield
    SHOP.clear()


@pytest.fixture
def faults(stack: LocalStack, shop: None) -> Iterator[FaultsFactory]:
    """``faults(plan)`` gives a scenario a worker running under ``plan``."""
    stripe = EmulatorControl(stack.stripe_url)
    stripe.clear_faults()
    started: list[Worker] = []

    def build(plan: ChaosPlan | None = None) -> Faults:
        environment = plan.to_environment(stack.logs / "chaos.log") if plan else {}
        (worker,) = stack.workers(environment)[:1]
        worker.start()
        started.append(worker)
        source = EventSource(
            stack.client("sqs"), stack.resources.queue_url, stack.resources.queue_arn
        )
        return Faults(stack, stripe, worker, source)

    yield build
    for worker in started:
        worker.stop()
    stripe.clear_faults()
