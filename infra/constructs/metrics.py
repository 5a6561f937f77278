"""The function's own CloudWatch metrics, defined once for the alarms and the dashboard.

They are Powertools EMF metrics in ``METRICS_NAMESPACE`` with the default dimension
``service`` (= ``settings.resource_prefix``). The metrics SQS, Lambda and DynamoDB publish
for the queues, the function and the table come from cdk-monitoring-constructs
(``infra.constructs.monitoring``).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from chargeq.settings import METRICS_NAMESPACE, MetricName, PipelineSettings

#: One period for every alarm and graph: short enough to page quickly, long enough that a
#: rate over it means something.
PERIOD = Duration.minutes(5)


class FunctionMetrics:
    """Named metrics of one deployment's function; every method returns a new object."""

    def __init__(self, settings: PipelineSettings) -> None:
        self._settings = settings

    def count(self, name: str, *, label: str | None = None) -> cloudwatch.Metric:
        """The sum of one of the function's counters (``MetricName``) over ``PERIOD``."""
        return self.metric(name, statistic="Sum", label=label)

    def metric(
        self,
        name: str,
        *,
        statistic: str,
        label: str | None = None,
        period: Duration = PERIOD,
    ) -> cloudwatch.Metric:
        """One of the function's metrics (``MetricName``) with ``statistic``, e.g. ``p99``."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._settings.resource_prefix},
            statistic=statistic,
            period=period,
            label=label,
        )

    def decline_rate(self) -> cloudwatch.MathExpression:
        """Percent of final charge outcomes that were declines, 0 below the minimum volume.

        Missing points count as zero (a period with declines and no successes is 100 %),
        and a period with fewer than ``decline_rate_alarm_min_charges`` charges reads 0 so
        that one decline out of two charges does not page anyone.
        """
        return cloudwatch.MathExpression(
            expression=(
                f"IF((FILL(succeeded, 0) + FILL(declined, 0)) >= "
                f"{self._settings.decline_rate_alarm_min_charges}, "
                "100 * FILL(declined, 0) / (FILL(succeeded, 0) + FILL(declined, 0)), 0)"
            ),
            using_metrics={
                "succeeded": self.count(MetricName.SUCCEEDED),
                "declined": self.count(MetricName.DECLINED),
            },
            label="Decline rate (%)",
            period=PERIOD,
        )
