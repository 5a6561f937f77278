"""The alarms that page on-call, each pointing at its section of docs/runbook.md."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from chargeq.settings import MetricName, PipelineSettings
from infra.constructs.metrics import PipelineMetrics

#: Where every alarm description points; the anchors are the alarms' slugs.
RUNBOOK = "docs/runbook.md"


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: fires when ``metric`` is above ``threshold`` for one period."""

    slug: str
    metric: cloudwatch.IMetric
    threshold: float
    meaning: str

    def description(self) -> str:
        return f"{self.meaning} Runbook: {RUNBOOK}#{self.slug}"


def alarm_specs(settings: PipelineSettings, metrics: PipelineMetrics) -> list[AlarmSpec]:
    """Every alarm of the pipeline, thresholds from the settings."""
    return [
        AlarmSpec(
            "dlq-not-empty",
            metrics.dead_letter_depth(),
            0,
            "Charge requests are in the dead-letter queue and will not be charged until "
            "someone looks at them.",
        ),
        AlarmSpec(
            "oldest-message-too-old",
            metrics.oldest_message_age(),
            settings.oldest_message_alarm_seconds,
            f"A charge request has waited more than {settings.oldest_message_alarm_seconds} s "
            "in the queue: the function is failing, throttled or too slow for the load.",
        ),
        AlarmSpec(
            "function-errors",
            metrics.function_errors(),
            0,
            "The charge function crashed or timed out; its whole batch will be delivered again.",
        ),
        AlarmSpec(
            "function-throttles",
            metrics.function_throttles(),
            0,
            "Lambda refused invocations of the charge function (account or reserved "
            "concurrency exhausted).",
        ),
        AlarmSpec(
            "duration-near-timeout",
            metrics.function_duration("p99"),
            settings.duration_alarm_threshold_ms,
            f"p99 duration is above {settings.duration_alarm_percent_of_timeout:g} % of the "
            f"{settings.function_timeout_seconds} s timeout; batches are close to timing out.",
        ),
        AlarmSpec(
            "payload-conflict",
            metrics.custom(MetricName.PAYLOAD_CONFLICT),
            0,
            "A request_id was reused with a different customer, amount, currency or payment "
            "method; the second message was dead-lettered, not charged.",
        ),
        AlarmSpec(
            "stripe-rate-limited",
            metrics.custom(MetricName.STRIPE_RATE_LIMITED),
            0,
            "Stripe answered 429: the account's request rate is exhausted; charges are "
            "being retried.",
        ),
        AlarmSpec(
            "decline-rate-high",
            metrics.decline_rate(),
            settings.decline_rate_alarm_percent,
            f"More than {settings.decline_rate_alarm_percent:g} % of charges were declined "
            f"(over at least {settings.decline_rate_alarm_min_charges} charges in 5 minutes).",
        ),
    ]


class PipelineAlarms(Construct):
    """One CloudWatch alarm per spec, notifying the topic when it fires and when it clears."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        metrics: PipelineMetrics,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in alarm_specs(settings, metrics):
            alarm = cloudwatch.Alarm(
                self,
                spec.slug,
                alarm_name=f"{settings.resource_prefix}-{spec.slug}",
                alarm_description=spec.description(),
                metric=spec.metric,
                threshold=spec.threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                # No data means nothing happened: no messages, no invocations, no charges.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            self.alarms[spec.slug] = alarm
