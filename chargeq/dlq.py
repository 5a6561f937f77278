"""Look into the DLQ without changing it, and redrive its messages to the queue.

Two ways to redrive, the same on AWS and on the local stack:

- ``redrive_selected`` (the default of ``chargeq dlq redrive``): receive, send, delete,
  message by message, skipping poison that can never succeed (``NEVER_SUCCEEDS``)
  unless its reason is asked for. It moves the messages that were in the DLQ when it
  started, each at most once, so it ends even while the pipeline dead-letters again.
- ``move_all``: SQS's own ``StartMessageMoveTask``, followed with
  ``ListMessageMoveTasks``; it moves every message (SQS's task takes no filter).

Both give the queue what SQS's redrive gives: a new message (new message ID, new
``SentTimestamp``, receive count from zero, retention restarted) with the same body and
message attributes (SQS Developer Guide, "Configure a dead-letter queue redrive").
A redrive adds nothing of its own. A redrive is safe to run: a message whose first
attempt charged finds its idempotency record or its PaymentIntent and is not charged again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from chargeq.deployment import queue_arn
from charges.dead_letters import (
    DETAIL_ATTRIBUTE,
    FAILED_AT_ATTRIBUTE,
    REASON_ATTRIBUTE,
    RECEIVE_COUNT_ATTRIBUTE,
)
from charges.outcomes import Reason

#: Messages moved by the redrive policy (a crash or timeout on the last allowed delivery)
#: carry no reason of ours.
NO_REASON = "redrive_policy"

#: Every reason a DLQ message can carry.
KNOWN_REASONS = frozenset({*(str(reason) for reason in Reason), NO_REASON})

#: Reasons a redrive cannot fix: the message itself is wrong, or its request_id is bound
#: to another payload. Redriving them only dead-letters them again.
NEVER_SUCCEEDS = frozenset(
    {
        Reason.INVALID_JSON,
        Reason.CONTRACT_VIOLATION,
        Reason.MISSING_REQUEST_ID,
        Reason.PAYLOAD_CONFLICT,
        Reason.STRIPE_IDEMPOTENCY_CONFLICT,
    }
)

#: How long a listing or redrive holds the messages it has seen, so each receive returns
#: new ones; long enough to page through a large DLQ, and released right after.
_HOLD_SECONDS = 60


@dataclass(frozen=True)
class DeadLetter:
    """A DLQ message as an operator reads it.

    ``receive_count`` is the delivery count the function recorded when it dead-lettered
    the message, and ``failed_at`` when (ISO 8601, UTC); both None for a message the
    redrive policy moved. The DLQ's own ``ApproximateReceiveCount`` is not shown: every
    listing raises it.
    """

    message_id: str
    reason: str
    detail: str
    receive_count: int | None
    failed_at: str | None
    sent_timestamp_ms: int
    body: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("MessageAttributes", {})
    system = message.get("Attributes", {})
    return DeadLetter(
        message_id=message["MessageId"],
        reason=attributes.get(REASON_ATTRIBUTE, {}).get("StringValue", NO_REASON),
        detail=attributes.get(DETAIL_ATTRIBUTE, {}).get("StringValue", ""),
        receive_count=_int_or_none(_string_attribute(message, RECEIVE_COUNT_ATTRIBUTE)),
        failed_at=_string_attribute(message, FAILED_AT_ATTRIBUTE),
        sent_timestamp_ms=int(system.get("SentTimestamp", 0)),
        body=message["Body"],
    )


def _string_attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name, {}).get("StringValue")
    return str(value) if value else None


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _send_back(sqs: Any, queue_url: str, message: dict[str, Any]) -> None:
    """Send ``message`` to the queue as a new message with its body and attributes."""
    attributes = {
        name: {
            key: value
            for key, value in attribute.items()
            if key in ("DataType", "StringValue", "BinaryValue")
        }
        for name, attribute in message.get("MessageAttributes", {}).items()
    }
    extra = {"MessageAttributes": attributes} if attributes else {}
    sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], **extra)


def peek(sqs: Any, dlq_url: str, *, limit: int = 100) -> list[DeadLetter]:
    """Up to ``limit`` DLQ messages, deleting nothing.

    Messages are received with a short visibility timeout so each receive returns new
    ones, then made visible again at once: the DLQ is as it was, give or take a receive
    count. (With a zero timeout SQS would keep returning the same first messages.)
    """
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    empty_receives = 0
    try:
        while len(seen) < limit and empty_receives < 2:
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=_HOLD_SECONDS,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            empty_receives = 0 if messages else empty_receives + 1
            for message in messages:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], _dead_letter(message))
    finally:
        _make_visible(sqs, dlq_url, handles)
    return sorted(seen.values(), key=lambda letter: letter.sent_timestamp_ms)


def _make_visible(sqs: Any, queue_url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, handle in enumerate(handles[start : start + 10])
            ],
        )


def approximate_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@dataclass
class RedriveReport:
    """What a redrive did: messages moved, and messages left in the DLQ by reason."""

    moved: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"redriven": self.moved, "skipped": dict(sorted(self.skipped.items()))}


def redrive_selected(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    reasons: Collection[str] | None = None,
    limit: int | None = None,
    on_progress: Callable[[RedriveReport], None] | None = None,
) -> RedriveReport:
    """Redrive by receive, send, delete: the messages in the DLQ when it starts, once each.

    With ``reasons``, only messages with those reasons move (hopeless ones included);
    without, every message except ``NEVER_SUCCEEDS``. ``limit`` caps the count moved.
    Each message is sent before it is deleted, so a failure in between leaves it in both
    places, never in neither; the pipeline charges the duplicate once.

    It ends: it looks at no more messages than the DLQ held at the start, ignores
    messages sent to the DLQ after it started (poison the function dead-letters again
    carries a later ``SentTimestamp``; a message the redrive policy moves keeps its
    original one, so at most the starting count still bounds it), and stops when a
    receive brings nothing new.
    """
    started_ms = int(time.time() * 1000)
    present = approximate_depth(sqs, dlq_url)
    report = RedriveReport()
    examined: set[str] = set()
    later: set[str] = set()
    kept: list[str] = []  # receipt handles of messages left in the DLQ
    empty_receives = 0
    try:
        while (
            len(examined) < present
            and (limit is None or report.moved < limit)
            and empty_receives < 2
        ):
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_HOLD_SECONDS,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = 0
            for message in messages:
                message_id = message["MessageId"]
                letter = _dead_letter(message)
                if message_id in examined or message_id in later:
                    kept.append(message["ReceiptHandle"])
                    continue
                full = len(examined) >= present or (limit is not None and report.moved >= limit)
                if letter.sent_timestamp_ms >= started_ms or full:
                    later.add(message_id)
                    kept.append(message["ReceiptHandle"])
                    continue
                examined.add(message_id)
                fresh += 1
                wanted = (
                    letter.reason in reasons if reasons else letter.reason not in NEVER_SUCCEEDS
                )
                if not wanted:
                    report.skipped[letter.reason] += 1
                    kept.append(message["ReceiptHandle"])
                    continue
                _send_back(sqs, queue_url, message)
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                report.moved += 1
            empty_receives = 0 if fresh else empty_receives + 1
            if fresh and on_progress:
                on_progress(report)
    finally:
        _make_visible(sqs, dlq_url, kept)
    return report


@dataclass(frozen=True)
class MoveTaskReport:
    """A message move task as ``ListMessageMoveTasks`` last reported it."""

    handle: str
    status: str
    moved: int
    to_move: int | None
    failure: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "CANCELLED", "FAILED")

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "move_task": self.handle,
            "status": self.status,
            "redriven": self.moved,
            "to_move": self.to_move,
        }
        if self.failure:
            shown["failure"] = self.failure
        return shown


def move_all(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    poll_seconds: float = 2.0,
    on_progress: Callable[[MoveTaskReport], None] | None = None,
) -> MoveTaskReport:
    """Redrive everything with SQS's StartMessageMoveTask and wait until the task ends.

    Progress comes from ListMessageMoveTasks (the newest task of the DLQ is this one:
    SQS allows one active task per queue). Stopping the wait leaves the task running.
    """
    source = queue_arn(sqs, dlq_url)
    handle = str(
        sqs.start_message_move_task(SourceArn=source, DestinationArn=queue_arn(sqs, queue_url))[
            "TaskHandle"
        ]
    )
    while True:
        results = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1)["Results"]
        task: dict[str, Any] = results[0] if results else {"Status": "RUNNING"}
        report = MoveTaskReport(
            handle=handle,
            status=str(task["Status"]),
            moved=int(task.get("ApproximateNumberOfMessagesMoved", 0)),
            to_move=task.get("ApproximateNumberOfMessagesToMove"),
            failure=task.get("FailureReason"),
        )
        if on_progress:
            on_progress(report)
        if report.finished:
            return report
        time.sleep(poll_seconds)
