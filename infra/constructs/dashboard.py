"""One CloudWatch dashboard that follows a message: queue, function, outcomes, Stripe, DLQ."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from chargeq.settings import MetricName, PipelineSettings
from infra.constructs.metrics import PipelineMetrics

WIDTH = 8
HEIGHT = 6

#: The outcome of every record, as the function counts it.
OUTCOMES = (
    (MetricName.SUCCEEDED, "Charged"),
    (MetricName.DECLINED, "Declined"),
    (MetricName.DUPLICATE_SUPPRESSED, "Duplicate suppressed"),
    (MetricName.TRANSIENT_FAILURE, "Transient failure (retried)"),
    (MetricName.POISON, "Poison (dead-lettered)"),
)


class PipelineDashboard(Construct):
    """Throughput, outcomes, queue and DLQ, function health, Stripe latency, alarm states."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        metrics: PipelineMetrics,
        alarms: Iterable[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard_name = settings.resource_prefix
        m = metrics
        flow = [
            graph(
                "Throughput",
                [
                    label(m.records_received(), "Records received"),
                    label(m.custom(MetricName.SUCCEEDED), "Charged"),
                ],
            ),
            graph(
                "Outcomes",
                [label(m.custom(name), text) for name, text in OUTCOMES],
                stacked=True,
            ),
            graph("Decline rate (%)", [m.decline_rate()]),
        ]
        queues = [
            cloudwatch.GraphWidget(
                title="Queue depth and age of oldest message",
                left=[
                    label(m.queue_depth(), "Visible"),
                    label(m.queue_in_flight(), "In flight"),
                ],
                right=[label(m.oldest_message_age(), "Age of oldest (s)")],
                width=WIDTH,
                height=HEIGHT,
            ),
            graph("Dead-letter queue depth", [label(m.dead_letter_depth(), "Visible")]),
            graph(
                "Function errors and throttles",
                [
                    label(m.function_errors(), "Errors"),
                    label(m.function_throttles(), "Throttles"),
                ],
            ),
        ]
        latency = [
            cloudwatch.GraphWidget(
                title="Function duration (ms)",
                left=[
                    label(m.function_duration(statistic), statistic)
                    for statistic in ("p50", "p99", "Maximum")
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=settings.function_timeout_seconds * 1000, label="Timeout"
                    ),
                    cloudwatch.HorizontalAnnotation(
                        value=settings.duration_alarm_threshold_ms, label="Alarm threshold"
                    ),
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
            graph(
                "Stripe latency (ms)",
                [label(m.stripe_latency(statistic), statistic) for statistic in ("p50", "p99")],
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(alarms), width=WIDTH, height=HEIGHT
            ),
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            widgets=[flow, queues, latency],
        )


def label(metric: cloudwatch.Metric, text: str) -> cloudwatch.Metric:
    """A copy of ``metric`` with a legend label."""
    return metric.with_(label=text)


def graph(
    title: str, metrics: list[cloudwatch.IMetric], *, stacked: bool = False
) -> cloudwatch.GraphWidget:
    """A graph of the standard size."""
    return cloudwatch.GraphWidget(
        title=title, left=metrics, stacked=stacked, width=WIDTH, height=HEIGHT
    )
