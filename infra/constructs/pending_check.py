"""The pending check: a scheduled function counting requests pending too long.

It queries the ledger's sparse pending index (Query on that index only) every
``SCHEDULE`` and publishes the ``PendingTooLong`` gauge, which the stack alarms on
(``pending-too-long``). Off the charge path: the index is kept by the ledger's own
conditional writes.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.constructs.ledger_table import LedgerTable
from infra.constructs.pipeline_function import PipelineFunction
from ledger.store import LEDGER_TABLE_ENV
from pending_check.handler import PENDING_ALARM_DAYS_ENV

#: Four runs an hour: the alarm looks at the largest count over an hour, so a late or
#: failed run leaves the hour with data.
SCHEDULE = Duration.minutes(15)

NO_DLQ_REASON = (
    "Invoked asynchronously by its schedule only: a failed run is retried twice by Lambda "
    "and the next run, 15 minutes later, counts again from the ledger; nothing is lost."
)


class PendingCheck(PipelineFunction):
    """The function (``function``) and its schedule (``schedule``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        key: kms.IKey,
        ledger: LedgerTable,
        environment: dict[str, str],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            function_name=settings.pending_check_function_name,
            description="Counts requests pending longer than the alarm's days",
            handler="pending_check.handler.lambda_handler",
            key=key,
            environment=environment
            | {
                LEDGER_TABLE_ENV: ledger.table.table_name,
                PENDING_ALARM_DAYS_ENV: str(settings.pending_alarm_days),
            },
            reserved_concurrency=1,
            no_dlq_reason=NO_DLQ_REASON,
        )
        ledger.grant_pending_query(self.function)
        self.schedule = events.Rule(
            self,
            "Schedule",
            rule_name=f"{settings.resource_prefix}-pending-check",
            description="Runs the pending check",
            schedule=events.Schedule.rate(SCHEDULE),
            targets=[targets.LambdaFunction(self.function, retry_attempts=2)],
        )
