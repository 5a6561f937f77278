"""Lambda entry point, run by an EventBridge schedule: publish ``PendingTooLong``.

A bank debit stays ``processing`` at Stripe for up to a few business days, then a webhook
settles it (``charged`` or ``failed``). A request still ``pending`` after
``PENDING_ALARM_DAYS`` days missed its webhook or Stripe never settled it: on-call looks
(runbook ``pending-too-long``). The gauge is published on every run, zero included, and
the oldest few requests are logged by ID (no customer data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ledger.container import ledger_table
from ledger.facts import now, timestamp
from ledger.metric_names import LedgerMetric
from ledger.store import LedgerTable

logger = Logger()
metrics = Metrics()

#: Environment variable: whole days a request may stay pending before it counts.
PENDING_ALARM_DAYS_ENV = "PENDING_ALARM_DAYS"
#: How many of the oldest pending requests the log line names.
OLDEST_LOGGED = 10


@dataclass(frozen=True)
class PendingReport:
    """Requests pending since before ``cutoff`` (ISO 8601 UTC): how many, and the oldest
    (``{"request_id", "pending_since"}``, oldest first, at most ``OLDEST_LOGGED``)."""

    cutoff: str
    count: int
    oldest: list[dict[str, str]] = field(default_factory=list)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    days = int(os.environ[PENDING_ALARM_DAYS_ENV])
    report = check(ledger_table(), older_than=timedelta(days=days), at=now())
    return {"cutoff": report.cutoff, "pending_too_long": report.count}


def check(table: LedgerTable, *, older_than: timedelta, at: datetime) -> PendingReport:
    """Count the requests pending since before ``at - older_than`` and publish the gauge.

    Raises botocore's ``ClientError`` when the query fails (the function's errors then
    show on the dashboard, and no gauge is published for this run).
    """
    cutoff = timestamp(at - older_than)
    count = 0
    oldest: list[dict[str, str]] = []
    for item in table.pending_since_before(cutoff):
        count += 1
        if len(oldest) < OLDEST_LOGGED:
            oldest.append(
                {"request_id": item["request_id"], "pending_since": item["pending_since"]}
            )
    metrics.add_metric(name=LedgerMetric.PENDING_TOO_LONG, unit=MetricUnit.Count, value=count)
    if count:
        logger.warning("requests pending too long", count=count, cutoff=cutoff, oldest=oldest)
    else:
        logger.info("no request pending too long", cutoff=cutoff)
    return PendingReport(cutoff=cutoff, count=count, oldest=oldest)
