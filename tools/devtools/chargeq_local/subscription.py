"""A producer's subscriber: reads the outcome events the bus delivers to its queue.

A thread receives from the subscription queue (long polls of a second, up to ten messages,
``SentTimestamp`` asked for), keeps each event, and deletes the messages, so the queue stays
short (moto's SQS walks the whole queue on every receive). Delivery is at least once, so a
subscriber deduplicates on the detail's ``event_id`` (``ledger.events``); every copy is kept
here so the report can count duplicates.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("chargeq_local.subscription")


@dataclass(frozen=True)
class ReceivedEvent:
    """One outcome event as the subscription queue delivered it."""

    event_id: str
    detail_type: str
    request_id: str
    state: str
    #: When the queue received it (``SentTimestamp``), epoch milliseconds.
    sent_ms: int


class OutcomeSubscriber:
    """Receives and deletes the subscription queue's messages until stopped."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._lock = threading.Lock()
        self._events: list[ReceivedEvent] = []
        self.unreadable = 0
        self._empty_receives = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outcome-subscriber", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def events(self) -> list[ReceivedEvent]:
        """Every event received so far, copies included, in order of receipt."""
        with self._lock:
            return list(self._events)

    @property
    def caught_up(self) -> bool:
        """The last two receives found the queue empty."""
        return self._empty_receives >= 2

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._receive()
            except Exception as error:  # moto hiccups: try again
                logger.info("subscription receive failed: %s", error)
                self._stop.wait(0.5)

    def _receive(self) -> None:
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["SentTimestamp"],
        )
        messages = answer.get("Messages", [])
        self._empty_receives = 0 if messages else self._empty_receives + 1
        if not messages:
            return
        received = []
        for message in messages:
            try:
                received.append(_read(message))
            except (ValueError, KeyError, TypeError):
                self.unreadable += 1
        with self._lock:
            self._events.extend(received)
        self._sqs.delete_message_batch(
            QueueUrl=self._queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
            ],
        )


def _read(message: dict[str, Any]) -> ReceivedEvent:
    """The EventBridge envelope in the body (docs.aws.amazon.com/eventbridge/latest/
    userguide/eb-events-structure.html): ``detail-type`` and the outcome's ``detail``."""
    envelope = json.loads(message["Body"])
    detail = envelope["detail"]
    return ReceivedEvent(
        event_id=str(detail["event_id"]),
        detail_type=str(envelope["detail-type"]),
        request_id=str(detail["request_id"]),
        state=str(detail["state"]),
        sent_ms=int(message["Attributes"]["SentTimestamp"]),
    )
