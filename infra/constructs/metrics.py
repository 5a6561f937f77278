"""The pipeline's CloudWatch metrics, defined once for the alarms and the dashboard.

Metrics carry no labels: an alarm on a labelled metric is rendered as a metric-math
query, which reads worse in the console; the dashboard labels its copies.

The function's own metrics are Powertools EMF metrics in ``METRICS_NAMESPACE`` with the
default dimension ``service`` (= ``settings.resource_prefix``); the rest are the metrics
SQS and Lambda publish for the queues and the function.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from chargeq.settings import METRICS_NAMESPACE, MetricName, PipelineSettings

#: One period for every alarm and graph: short enough to page quickly, long enough that a
#: rate over it means something.
PERIOD = Duration.minutes(5)


class PipelineMetrics:
    """Named metrics of one deployment; every method returns a new metric object."""

    def __init__(
        self,
        *,
        settings: PipelineSettings,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
    ) -> None:
        self._settings = settings
        self._queue = queue
        self._dead_letter_queue = dead_letter_queue
        self._function = function

    def custom(self, name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
        """One of the function's own metrics (``MetricName``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._settings.resource_prefix},
            statistic=statistic,
            period=PERIOD,
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
                "succeeded": self.custom(MetricName.SUCCEEDED),
                "declined": self.custom(MetricName.DECLINED),
            },
            label="Decline rate (%)",
            period=PERIOD,
        )

    def stripe_latency(self, statistic: str) -> cloudwatch.Metric:
        """Stripe round trip in milliseconds, e.g. ``p50`` or ``p99``."""
        return self.custom(MetricName.STRIPE_LATENCY, statistic=statistic)

    def queue_depth(self) -> cloudwatch.Metric:
        return self._queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=PERIOD
        )

    def queue_in_flight(self) -> cloudwatch.Metric:
        return self._queue.metric_approximate_number_of_messages_not_visible(
            statistic="Maximum", period=PERIOD
        )

    def oldest_message_age(self) -> cloudwatch.Metric:
        return self._queue.metric_approximate_age_of_oldest_message(
            statistic="Maximum", period=PERIOD
        )

    def records_received(self) -> cloudwatch.Metric:
        return self._queue.metric_number_of_messages_received(statistic="Sum", period=PERIOD)

    def dead_letter_depth(self) -> cloudwatch.Metric:
        return self._dead_letter_queue.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=PERIOD
        )

    def function_errors(self) -> cloudwatch.Metric:
        return self._function.metric_errors(statistic="Sum", period=PERIOD)

    def function_throttles(self) -> cloudwatch.Metric:
        return self._function.metric_throttles(statistic="Sum", period=PERIOD)

    def function_duration(self, statistic: str) -> cloudwatch.Metric:
        return self._function.metric_duration(statistic=statistic, period=PERIOD)
