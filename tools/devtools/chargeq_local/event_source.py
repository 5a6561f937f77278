"""One turn of Lambda's SQS event source: receive a batch, invoke, delete what succeeded.

Records listed in the partial batch response stay on the queue and come back after the
visibility timeout; SQS's redrive policy moves them to the DLQ after ``maxReceiveCount``
receives. The local poller and the tests both drive the handler through this class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chargeq_local.events import SYSTEM_ATTRIBUTES, lambda_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class BatchReport:
    """What one invocation did to the queue."""

    received: int = 0
    deleted: int = 0
    failed_message_ids: list[str] = field(default_factory=list)
    redelivered: int = 0
    error: str | None = None


class EventSource:
    """Receives from ``queue_url`` and hands batches to ``invoke`` like Lambda would."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        *,
        batch_size: int = 10,
        wait_seconds: int = 0,
        redeliver: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._batch_size = batch_size
        self._wait_seconds = wait_seconds
        # SQS is at-least-once: a processed message can come back (a lost delete, a
        # second copy on another server). ``redeliver`` picks messages to treat so.
        self._redeliver = redeliver

    def receive(self) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=SYSTEM_ATTRIBUTES,
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def deliver(
        self, messages: list[dict[str, Any]], invoke: Invoke, *, retry_now: bool = False
    ) -> BatchReport:
        """Invoke on ``messages`` and settle them by the partial batch response.

        An invocation that raises (or a worker that dies) fails the whole batch, as in
        Lambda. ``retry_now`` makes failed records visible at once instead of after the
        visibility timeout, so tests need not wait for it.
        """
        report = BatchReport(received=len(messages))
        if not messages:
            return report
        try:
            response = invoke(lambda_event(messages, self._queue_arn))
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception as error:  # a crashed invocation fails every record
            report.error = f"{type(error).__name__}: {error}"
            failed = {message["MessageId"] for message in messages}
        done = [message for message in messages if message["MessageId"] not in failed]
        report.failed_message_ids = sorted(failed)
        if self._redeliver:
            again = [message for message in done if self._redeliver(message)]
            for message in again:
                self._make_visible(message)
            report.redelivered = len(again)
            done = [message for message in done if message not in again]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )
        report.deleted = len(done)
        if retry_now:
            for message in messages:
                if message["MessageId"] in failed:
                    self._make_visible(message)
        return report

    def _make_visible(self, message: dict[str, Any]) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    def poll_once(self, invoke: Invoke, *, retry_now: bool = False) -> BatchReport:
        """Receive one batch and deliver it."""
        return self.deliver(self.receive(), invoke, retry_now=retry_now)
