"""One CloudWatch dashboard that follows a message: queue, function, outcomes, Stripe, DLQ."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from chargeq.settings import MetricName, PipelineSettings
from infra.constructs.metrics import PipelineMetrics

WIDTH = 8
HEIGHT = 6


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
        outcomes = [
            (MetricName.SUCCEEDED, "Charged"),
            (MetricName.DECLINED, "Declined"),
            (MetricName.DUPLICATE_SUPPRESSED, "Duplicate suppressed"),
            (MetricName.TRANSIENT_FAILURE, "Transient failure (retried)"),
            (MetricName.POISON, "Poison (dead-lettered)"),
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            widgets=[
                [
                    graph(
                        "Throughput",
                        [
                            metrics.records_received(),
                            metrics.custom(MetricName.SUCCEEDED, label="Charged"),
                        ],
                    ),
                    graph(
                        "Outcomes",
                        [metrics.custom(name, label=label) for name, label in outcomes],
                        stacked=True,
                    ),
                    graph("Decline rate (%)", [metrics.decline_rate()]),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Queue depth and age of oldest message",
                        left=[metrics.queue_depth(), metrics.queue_in_flight()],
                        right=[metrics.oldest_message_age()],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    graph("Dead-letter queue depth", [metrics.dead_letter_depth()]),
                    graph(
                        "Function errors and throttles",
                        [metrics.function_errors(), metrics.function_throttles()],
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Function duration (ms)",
                        left=[
                            metrics.function_duration("p50"),
                            metrics.function_duration("p99"),
                            metrics.function_duration("Maximum"),
                        ],
                        left_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=settings.function_timeout_seconds * 1000, label="Timeout"
                            ),
                            cloudwatch.HorizontalAnnotation(
                                value=settings.duration_alarm_threshold_ms, label="Alarm"
                            ),
                        ],
                        width=WIDTH,
                        height=HEIGHT,
                    ),
                    graph(
                        "Stripe latency (ms)",
                        [metrics.stripe_latency("p50"), metrics.stripe_latency("p99")],
                    ),
                    cloudwatch.AlarmStatusWidget(
                        title="Alarms", alarms=list(alarms), width=WIDTH, height=HEIGHT
                    ),
                ],
            ],
        )


def graph(
    title: str, metrics: list[cloudwatch.IMetric], *, stacked: bool = False
) -> cloudwatch.GraphWidget:
    """A graph of the standard size."""
    return cloudwatch.GraphWidget(
        title=title, left=metrics, stacked=stacked, width=WIDTH, height=HEIGHT
    )
