"""Look into the DLQ without changing it, and redrive its messages to the queue.

A redrive is always safe to run: a message whose first attempt charged finds its completed
idempotency record (or, failing that, its Stripe idempotency key) and is not charged again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chargeq.deployment import queue_arn
from charges.dead_letters import (
    DETAIL_ATTRIBUTE,
    FAILED_AT_ATTRIBUTE,
    REASON_ATTRIBUTE,
    RECEIVE_COUNT_ATTRIBUTE,
)
from charges.delivery import FIRST_SENT_ATTRIBUTE, REDRIVEN_ATTRIBUTE
from charges.outcomes import Reason

#: Messages moved by the redrive policy (a crash or timeout on the last allowed delivery)
#: carry no reason of ours.
NO_REASON = "redrive_policy"

#: Every reason a DLQ message can carry.
KNOWN_REASONS = frozenset({*(str(reason) for reason in Reason), NO_REASON})

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


def _first_sent(message: dict[str, Any], letter: DeadLetter) -> str:
    value = message.get("MessageAttributes", {}).get(FIRST_SENT_ATTRIBUTE, {}).get("StringValue")
    return value if value and value.isdigit() else str(letter.sent_timestamp_ms)


def _send_back(sqs: Any, queue_url: str, message: dict[str, Any], letter: DeadLetter) -> None:
    attributes = {
        REDRIVEN_ATTRIBUTE: {"DataType": "String", "StringValue": letter.message_id},
        # The request's age survives the copy, so a late retry looks Stripe up.
        FIRST_SENT_ATTRIBUTE: {"DataType": "String", "StringValue": _first_sent(message, letter)},
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], MessageAttributes=attributes)


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


def start_move_task(sqs: Any, dlq_url: str, queue_url: str) -> str:
    """Redrive on AWS with SQS's own StartMessageMoveTask; returns the task handle."""
    task = sqs.start_message_move_task(
        SourceArn=queue_arn(sqs, dlq_url), DestinationArn=queue_arn(sqs, queue_url)
    )
    return str(task["TaskHandle"])


def copy_back(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    reason: str | None = None,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Redrive by receive, send, delete (moto lacks StartMessageMoveTask).

    Each message is sent to the queue before it is deleted from the DLQ, so a failure in
    between leaves a copy in both places, never in neither; the pipeline charges the
    duplicate once. ``reason`` redrives only messages with that reason. Returns the count.
    """
    moved = 0
    seen: set[str] = set()
    kept: list[str] = []  # receipt handles of messages left in the DLQ
    empty_receives = 0
    try:
        while (limit is None or moved < limit) and empty_receives < 2:
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_HOLD_SECONDS,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = [m for m in messages if m["MessageId"] not in seen]
            kept += [m["ReceiptHandle"] for m in messages if m["MessageId"] in seen]
            empty_receives = 0 if new else empty_receives + 1
            for message in new:
                seen.add(message["MessageId"])
                letter = _dead_letter(message)
                wanted = not reason or letter.reason == reason
                if not wanted or (limit is not None and moved >= limit):
                    kept.append(message["ReceiptHandle"])
                    continue
                _send_back(sqs, queue_url, message, letter)
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
                if on_progress:
                    on_progress(moved)
    finally:
        _make_visible(sqs, dlq_url, kept)
    return moved
