"""The loop both stream consumers share: a DynamoDB stream batch, record by record.

Each record is read by the consumer's ``read`` (into a fact, an event, or None for a record
that states nothing), then acted on by its ``act``. A record that cannot be read (an
unexpected shape) is logged with its reason, counted (``StreamRecordSkipped``) and
skipped: it can never become readable, and retrying it would block the shard. Only
``act`` may raise (a ledger write or a publish that failed): Powertools' partial batch
response names that record, and Lambda retries the stream from it on.

Used by ``outbox`` (the idempotency table's stream) and ``outcome_events`` (the ledger's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from ledger.metric_names import LedgerMetric

# The consumer's logger and metrics: Powertools shares a service's log handler and its
# metric set between instances, so these lines land in the invocation's output.
logger = Logger(child=True)
metrics = Metrics()

Read = TypeVar("Read")


class UnreadableRecord(ValueError):
    """A record of an unexpected shape; ``reason`` says what is wrong (no item values)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def process_stream(
    event: dict[str, Any],
    context: Any,
    read: Callable[[DynamoDBRecord], Read | None],
    act: Callable[[Read], object],
) -> dict[str, Any]:
    """Read and act on each record of a stream batch; the partial batch response
    (``{"batchItemFailures": [...]}``) names the records whose ``act`` raised."""

    def handle(record: DynamoDBRecord) -> object:
        readable = read_or_skip(record, read)
        return None if readable is None else act(readable)

    response = process_partial_response(
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
        context=context,
    )
    return dict(response)


def read_or_skip(
    record: DynamoDBRecord, read: Callable[[DynamoDBRecord], Read | None]
) -> Read | None:
    """``read(record)``, or None after skipping a record it could not read."""
    try:
        return read(record)
    except UnreadableRecord as error:
        skip(record, error.reason, error.detail)
    except Exception as error:  # a shape the data class cannot read: never block the shard
        skip(record, "unexpected_shape", type(error).__name__)
    return None


def skip(record: DynamoDBRecord, reason: str, detail: str) -> None:
    """Log and count a record that states nothing readable; it is not retried."""
    logger.warning(
        "stream record skipped",
        reason=reason,
        detail=detail,
        event_id=record.event_id,
        event_name=str(record.event_name),
    )
    metrics.add_metric(name=LedgerMetric.RECORD_SKIPPED, unit=MetricUnit.Count, value=1)
