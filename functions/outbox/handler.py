"""Lambda entry point: the idempotency table's stream, one ledger transition per result.

The loop is ``ledger.stream_batch``'s: a record that cannot be read is logged, counted and
skipped; a ledger write that fails (throttling, an outage) is reported as a batch item
failure, so Lambda retries from that record on. A refused condition is not a failure (the
ledger already holds this state or a later one: a replay, or a webhook that came first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ledger.container import ledger_table
from ledger.facts import Fact
from ledger.metric_names import LedgerMetric
from ledger.store import LedgerTable
from ledger.stream_batch import process_stream
from outbox.records import fact_of, stored_result

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_stream(event, context, ledger_table())


def handle_stream(event: dict[str, Any], context: Any, table: LedgerTable) -> dict[str, Any]:
    """Apply each record of a stream batch; the partial batch response names the failures."""
    return process_stream(event, context, read_fact, lambda fact: apply(fact, table))


def read_fact(record: DynamoDBRecord) -> Fact | None:
    """The fact a record states (a stored charge result), or None for any other record.

    Raises ``outbox.records.UnexpectedRecord`` for a completed record without a result.
    """
    change = record.dynamodb
    result = stored_result(change.new_image if change else None)
    if result is None:
        return None
    written = change.approximate_creation_date_time if change else None
    return fact_of(result, datetime.fromtimestamp(written, UTC) if written else None)


def apply(fact: Fact, table: LedgerTable) -> bool:
    """Write the fact; True if the ledger moved. Raises only for a write that failed."""
    moved = table.apply(fact)
    logger.info(
        "ledger transition" if moved else "ledger already knew",
        request_id=fact.request_id,
        state=fact.state.value,
        payment_intent_id=fact.payment_intent_id,
    )
    if moved:
        metrics.add_metric(name=LedgerMetric.TRANSITION, unit=MetricUnit.Count, value=1)
    return moved
