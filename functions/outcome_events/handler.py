"""Lambda entry point: publish each state change of the ledger as ``charge.<state>``.

The ledger table's stream (new and old images) is the outbox of the events: an event is
published if and only if the ledger recorded the change, and a record Lambda retries
(a failed ``PutEvents`` entry, a crash) publishes the same event again, with the same
``event_id``: at least once. Records that are not state changes (none today: every ledger
write changes the state) are passed over; records of an unexpected shape are skipped,
logged and counted, never retried (``ledger.stream_batch``).
"""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ledger.events import EVENT_SOURCE, NotAStateChange, OutcomeEvent, outcome_event
from ledger.metric_names import OUTCOME_METRICS, LedgerMetric
from ledger.stream_batch import process_stream

logger = Logger()
metrics = Metrics()

#: Environment variable naming the event bus.
EVENT_BUS_ENV = "EVENT_BUS_NAME"


class PublishFailed(RuntimeError):
    """EventBridge did not accept the event; the record is retried."""


class EventBus:
    """The stack's event bus, as this function sees it: one call that publishes an event."""

    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self.bus_name = bus_name

    def publish(self, event: OutcomeEvent) -> None:
        """``PutEvents`` one entry; raises ``PublishFailed`` if it was not accepted."""
        answer = self._events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": event.model_dump_json(),
                    "EventBusName": self.bus_name,
                    "Resources": [],
                }
            ]
        )
        # PutEvents answers 200 with per-entry failures: FailedEntryCount must be read.
        if answer.get("FailedEntryCount"):
            entry = answer["Entries"][0]
            raise PublishFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")


@functools.cache
def event_bus() -> EventBus:
    """The container's bus, built on first use."""
    import boto3

    return EventBus(boto3.client("events"), os.environ[EVENT_BUS_ENV])


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_stream(event, context, event_bus())


def handle_stream(event: dict[str, Any], context: Any, bus: EventBus) -> dict[str, Any]:
    """Publish each record's state change; the partial batch response names the failures."""
    return process_stream(event, context, read_event, lambda event: publish(event, bus))


def read_event(record: DynamoDBRecord) -> OutcomeEvent | None:
    """The event announcing the state change a record shows, or None when it shows none.

    Raises for a record of an unexpected shape (``ledger.stream_batch`` skips it).
    """
    change = record.dynamodb
    if change is None or not change.new_image:
        return None  # a deletion (by hand: the ledger has no TTL) announces nothing
    old = change.old_image
    try:
        return outcome_event(plain(change.new_image), plain(old) if old else None)
    except NotAStateChange:
        return None


def publish(event: OutcomeEvent, bus: EventBus) -> OutcomeEvent:
    """Publish and count the event. Raises ``PublishFailed`` (or botocore's errors) to be
    retried."""
    bus.publish(event)
    metrics.add_metric(name=LedgerMetric.OUTCOME_PUBLISHED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=OUTCOME_METRICS[event.state], unit=MetricUnit.Count, value=1)
    logger.info(
        "outcome published",
        request_id=event.request_id,
        state=event.state,
        event_id=event.event_id,
    )
    return event


def plain(image: dict[str, Any]) -> dict[str, Any]:
    """Powertools' deserialized image (numbers as Decimal) with whole numbers as int."""
    return {name: _plain(value) for name, value in image.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return plain(value)
    if isinstance(value, list):
        return [_plain(element) for element in value]
    return value
