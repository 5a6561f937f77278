"""Lambda entry point: the idempotency table's stream, one ledger transition per result.

A record that cannot be read (an unexpected shape) is logged with its reason, counted and
skipped: it can never become readable, and retrying it would block the shard. A ledger
write that fails (throttling, an outage) is reported as a batch item failure, so Lambda
retries from that record on; a refused condition is not a failure (the ledger already
holds this state or a later one: a replay, or a webhook that came first).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

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
from aws_lambda_powertools.utilities.typing import LambdaContext

from ledger.metric_names import LedgerMetric
from ledger.store import LedgerTable
from outbox.records import UnexpectedRecord, fact_of, stored_result

logger = Logger()
metrics = Metrics()

#: Environment variable naming the ledger table.
LEDGER_TABLE_ENV = "LEDGER_TABLE_NAME"


@functools.cache
def ledger() -> LedgerTable:
    """The container's ledger, built on first use."""
    import boto3

    return LedgerTable(boto3.client("dynamodb"), os.environ[LEDGER_TABLE_ENV])


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_stream(event, context, ledger())


def handle_stream(event: dict[str, Any], context: Any, table: LedgerTable) -> dict[str, Any]:
    """Apply each record of a stream batch; the partial batch response names the failures."""
    response = process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, table),
        processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
        context=context,
    )
    return dict(response)


def handle_record(record: DynamoDBRecord, table: LedgerTable) -> bool:
    """Write the fact a record states, if any. True if the ledger moved.

    Raises only for a ledger write that failed (to be retried).
    """
    try:
        change = record.dynamodb
        result = stored_result(change.new_image if change else None)
    except UnexpectedRecord as error:
        skip(record, error.reason, error.detail)
        return False
    except Exception as error:  # a shape the data class cannot read: never block the shard
        skip(record, "unreadable_record", type(error).__name__)
        return False
    if result is None:
        return False
    written = change.approximate_creation_date_time if change else None
    at = datetime.fromtimestamp(written, UTC) if written else None
    moved = table.apply(fact_of(result, at))
    logger.info(
        "ledger transition" if moved else "ledger already knew",
        request_id=result.request_id,
        state=result.outcome,
        payment_intent_id=result.payment_intent_id,
    )
    if moved:
        metrics.add_metric(name=LedgerMetric.TRANSITION, unit=MetricUnit.Count, value=1)
    return moved


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
