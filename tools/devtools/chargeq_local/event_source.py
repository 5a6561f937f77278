"""One turn of Lambda's SQS event source: receive a batch, invoke, delete what succeeded.

A batch is gathered as Lambda gathers it: receives of up to ten messages (SQS's most per
``ReceiveMessage``) until the batch is full, the batching window has passed, or the next
message would take the batch past Lambda's 6 MB invocation payload
(docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Batching behavior").
Kinder than Lambda on one point, which only latency feels: here the window opens with the
first message received, where Lambda opens the next window as the last invocation ends
and may wait up to 20 s on a very quiet queue whatever the window.

Records listed in the partial batch response stay on the queue and come back after the
visibility timeout; SQS's redrive policy moves them to the DLQ after ``maxReceiveCount``
receives. The local poller and the tests both drive the handler through this class.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chargeq.settings import PipelineSettings
from chargeq_local.events import SYSTEM_ATTRIBUTES, lambda_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

#: The most messages one ``ReceiveMessage`` returns.
RECEIVE_MAX_MESSAGES = 10
#: Lambda's payload limit for a synchronous invocation, bytes.
INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Pause between receives that found nothing while a batching window is open, seconds.
GATHER_PAUSE_SECONDS = 0.05


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
        batching_window_seconds: float = 0,
        wait_seconds: int = 0,
        redeliver: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._batch_size = batch_size
        self._batching_window = batching_window_seconds
        self._wait_seconds = wait_seconds
        # SQS is at-least-once: a processed message can come back (a lost delete, a
        # second copy on another server). ``redeliver`` picks messages to treat so.
        self._redeliver = redeliver

    @classmethod
    def configured(
        cls, sqs: Any, queue_url: str, queue_arn: str, settings: PipelineSettings, **options: Any
    ) -> EventSource:
        """An event source configured as the stack configures Lambda's: the settings' batch
        size and batching window (``options``: ``wait_seconds``, ``redeliver``)."""
        return cls(
            sqs,
            queue_url,
            queue_arn,
            batch_size=settings.batch_size,
            batching_window_seconds=settings.max_batching_window_seconds,
            **options,
        )

    def receive(self) -> list[dict[str, Any]]:
        """The next batch: empty when the queue had nothing within ``wait_seconds``.

        The batching window opens with the first message received. A message that would
        take the batch past the payload limit, and the rest of its receive, are left to come
        back after their visibility timeout (Lambda's poller keeps them for the next batch;
        the delay is the stricter). A receive that fails (``ClientError``, ``BotoCoreError``)
        raises when nothing was gathered yet; once records are gathered, the batch goes with
        them: they are held, as in Lambda's buffer, and throwing them away would spend one
        of their receives without an invocation.
        """
        batch: list[dict[str, Any]] = []
        size = 0
        closes: float | None = None
        while len(batch) < self._batch_size:
            wanted = min(RECEIVE_MAX_MESSAGES, self._batch_size - len(batch))
            if not batch:
                received = self._receive(wanted, self._wait_seconds)
            else:
                try:
                    received = self._receive(wanted, 0)
                except (BotoCoreError, ClientError):
                    return batch
            for message in received:
                size += _payload_bytes(message)
                if batch and size > INVOCATION_PAYLOAD_BYTES:
                    return batch
                batch.append(message)
            if not batch:
                return batch
            if closes is None:
                closes = time.monotonic() + self._batching_window
            if time.monotonic() >= closes:
                break
            if not received:
                time.sleep(GATHER_PAUSE_SECONDS)
        return batch

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
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


def _payload_bytes(message: dict[str, Any]) -> int:
    """About what ``message`` adds to an invocation's payload (its JSON)."""
    return len(json.dumps(message))
