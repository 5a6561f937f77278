"""The pipeline under test, wired to moto and the Stripe emulator (used by the fixtures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chargeq.local.context import LocalLambdaContext
from chargeq.local.event_source import BatchReport, EventSource
from chargeq.local.resources import Resources
from chargeq.settings import PipelineSettings
from charges.dependencies import Dependencies
from charges.handler import handle_batch

API_KEY = "sk_test_unit"


@dataclass
class Pipeline:
    """The function wired to moto and the emulator, driven like Lambda's event source."""

    settings: PipelineSettings
    resources: Resources
    deps: Dependencies
    sqs: Any
    dynamodb: Any
    source: EventSource
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def send(self, *bodies: str | dict[str, Any]) -> None:
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            self.sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=text)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.invocations.append(event)
        return handle_batch(event, LocalLambdaContext(), self.deps)

    def run_batch(self) -> BatchReport:
        """One invocation on up to ten records; failures become visible again at once."""
        return self.source.poll_once(self.invoke, retry_now=True)

    def drain(self, max_batches: int = 50) -> list[BatchReport]:
        """Invoke until the queue is empty (retries included)."""
        reports = []
        for _ in range(max_batches):
            report = self.run_batch()
            if not report.received:
                break
            reports.append(report)
        return reports

    def dead_letters(self) -> list[dict[str, Any]]:
        letters = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.resources.dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages"):
            for message in messages:
                letters.append(message)
                self.sqs.delete_message(
                    QueueUrl=self.resources.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return letters

    def dead_letter_reasons(self) -> list[str]:
        return sorted(
            message["MessageAttributes"]["chargeq-reason"]["StringValue"]
            for message in self.dead_letters()
        )

    def queue_depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


PipelineFactory = Callable[..., Pipeline]


def charge_body(request_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid charge request body."""
    return {
        "version": 1,
        "request_id": request_id,
        "customer": "cus_good",
        "amount": 1500,
        "currency": "usd",
        "payment_method": "pm_card_visa",
    } | overrides
