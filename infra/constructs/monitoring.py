"""Alarms and the dashboard, built with cdk-monitoring-constructs; each alarm links its runbook.

The library watches what AWS publishes for the queue, the DLQ, the function and the
idempotency table (and draws their graphs); the function's own metrics
(``infra.constructs.metrics``) go beside them as custom metric groups. Every alarm:

- is named ``<resource_prefix>-<slug>`` and its description ends with
  ``Runbook: docs/runbook.md#<slug>``, the section on-call opens;
- fires when its metric is above the threshold for one 5-minute period, and treats missing
  data as "nothing happened" (no messages, no invocations, no charges, no throttles);
- notifies the alarm topic when it fires and when it clears.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    CustomMetricWithAlarm,
    CustomThreshold,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    GraphWidgetType,
    LatencyThreshold,
    MaxAgeThreshold,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MetricFactoryDefaults,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    ThrottledEventsThreshold,
)
from constructs import Construct

from chargeq.settings import MetricName, PipelineSettings
from infra.constructs.metrics import PERIOD, FunctionMetrics
from ledger.metric_names import OUTCOME_METRICS, LedgerMetric

#: Where every alarm description points; the anchors are the alarms' slugs.
RUNBOOK = "docs/runbook.md"

#: The one severity: every alarm pages on-call through the same topic.
SEVERITY = "Critical"
#: The pending check runs every 15 minutes; its alarm looks at the largest count in an hour,
#: so one late run does not clear it.
PENDING_CHECK_PERIOD = Duration.hours(1)
#: A stream consumer this far behind delays outcomes noticeably (milliseconds).
STREAM_ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000

#: The outcome of every record, as the function counts it.
OUTCOMES = (
    (MetricName.SUCCEEDED, "Charged"),
    (MetricName.DECLINED, "Declined"),
    (MetricName.PENDING, "Pending (processing, not yet charged)"),
    (MetricName.SOFT_DECLINE, "Soft decline (tried again)"),
    (MetricName.DUPLICATE_SUPPRESSED, "Duplicate suppressed"),
    (MetricName.TRANSIENT_FAILURE, "Transient failure (retried)"),
    (MetricName.POISON, "Poison (dead-lettered)"),
)


class RunbookAlarms:
    """The properties every alarm shares: its name, meaning, runbook link and evaluation."""

    def __init__(self, settings: PipelineSettings) -> None:
        self._prefix = settings.resource_prefix
        #: Slugs in the order the alarms were declared; each is a section of the runbook.
        self.slugs: list[str] = []

    def __call__(self, slug: str, meaning: str) -> dict[str, Any]:
        """Keyword arguments for any of the library's thresholds, for alarm ``slug``."""
        self.slugs.append(slug)
        return {
            "alarm_name_override": f"{self._prefix}-{slug}",
            "alarm_description_override": meaning,
            "runbook_link": f"{RUNBOOK}#{slug}",
            "comparison_operator_override": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # No data means nothing happened: no messages, no invocations, no charges.
            "treat_missing_data_override": cloudwatch.TreatMissingData.NOT_BREACHING,
        }


class PipelineMonitoring(Construct):
    """Every alarm of the pipeline (thresholds from the settings) and one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
        table: dynamodb.ITable,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        #: The dashboard is named like the stack (stack output ``DashboardName``).
        self.dashboard_name = settings.resource_prefix
        notify = SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic)
        self.facade = MonitoringFacade(
            self,
            "Monitoring",
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=settings.resource_prefix,
                action=notify,
                datapoints_to_alarm=1,
            ),
            metric_factory_defaults=MetricFactoryDefaults(period=PERIOD),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=self.dashboard_name,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        alarm = RunbookAlarms(settings)
        self._alarm = alarm
        self._settings = settings
        self.facade.monitor_sqs_queue_with_dlq(
            queue=queue,
            dead_letter_queue=dead_letter_queue,
            human_readable_name="Charge requests",
            alarm_friendly_name="ChargeRequests",
            add_queue_max_message_age_alarm={
                SEVERITY: MaxMessageAgeThreshold(
                    max_age_in_seconds=settings.oldest_message_alarm_seconds,
                    **alarm(
                        "oldest-message-too-old",
                        f"A charge request has waited more than "
                        f"{settings.oldest_message_alarm_seconds} s in the queue: the function "
                        "is failing, throttled or too slow for the load.",
                    ),
                )
            },
            add_dead_letter_queue_max_size_alarm={
                SEVERITY: MaxMessageCountThreshold(
                    max_message_count=0,
                    **alarm(
                        "dlq-not-empty",
                        "Charge requests are in the dead-letter queue and will not be charged "
                        "until someone looks at them.",
                    ),
                )
            },
        )
        self.facade.monitor_lambda_function(
            lambda_function=function,
            human_readable_name="Charge function",
            alarm_friendly_name="ChargeFunction",
            add_fault_count_alarm={
                SEVERITY: ErrorCountThreshold(
                    max_error_count=0,
                    **alarm(
                        "function-errors",
                        "The charge function crashed or timed out; its whole batch will be "
                        "delivered again.",
                    ),
                )
            },
            add_throttles_count_alarm={
                SEVERITY: ErrorCountThreshold(
                    max_error_count=0,
                    **alarm(
                        "function-throttles",
                        "Lambda refused invocations of the charge function (account or "
                        "reserved concurrency exhausted).",
                    ),
                )
            },
            add_latency_p99_alarm={
                SEVERITY: LatencyThreshold(
                    max_latency=Duration.millis(settings.duration_alarm_threshold_ms),
                    **alarm(
                        "duration-near-timeout",
                        f"p99 duration is above {settings.duration_alarm_percent_of_timeout:g} % "
                        f"of the {settings.function_timeout_seconds} s timeout; batches are "
                        "close to timing out.",
                    ),
                )
            },
        )
        self.facade.monitor_dynamo_table(
            table=table,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            human_readable_name="Idempotency table",
            alarm_friendly_name="IdempotencyTable",
            # The claim of every charge is a conditional write to this table: a throttled
            # claim is a record retried later, and sustained throttling stalls every charge.
            add_write_throttled_events_count_alarm={
                SEVERITY: ThrottledEventsThreshold(
                    max_throttled_events_threshold=0,
                    **alarm(
                        "idempotency-writes-throttled",
                        "DynamoDB throttled writes to the idempotency table: claims and results "
                        "of charges are failing and being retried.",
                    ),
                )
            },
            add_read_throttled_events_count_alarm={
                SEVERITY: ThrottledEventsThreshold(
                    max_throttled_events_threshold=0,
                    **alarm(
                        "idempotency-reads-throttled",
                        "DynamoDB throttled reads of the idempotency table: looking up a "
                        "claimed record is failing and being retried.",
                    ),
                )
            },
        )
        self._monitor_function_metrics(settings, alarm)
        self.slugs = tuple(alarm.slugs)
        #: Every alarm by its slug.
        self.alarms: dict[str, cloudwatch.AlarmBase] = {
            created.alarm_name.removeprefix(f"{settings.resource_prefix}-"): created.alarm
            for created in self.facade.created_alarms()
        }
        self.facade.add_widget(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24, height=4
            )
        )

    def monitor_outcomes(
        self,
        *,
        ledger_writer: lambda_.IFunction,
        publisher: lambda_.IFunction,
        webhooks: lambda_.IFunction,
        pending_check: lambda_.IFunction,
        stream_failures: sqs.IQueue,
    ) -> None:
        """The outcome functions: stream consumers' iterator age and errors, the stream
        failures queue, webhook signature failures, dead-lettered outcomes, dead letters the
        ledger could not record, requests pending too long, and outcome events by kind."""
        settings, alarm = self._settings, self._alarm
        metrics = FunctionMetrics(settings)
        self.facade.monitor_sqs_queue(
            queue=stream_failures,
            human_readable_name="Stream failures",
            alarm_friendly_name="StreamFailures",
            add_queue_max_size_alarm={
                SEVERITY: MaxMessageCountThreshold(
                    max_message_count=0,
                    **alarm(
                        "stream-failures-not-empty",
                        "A stream batch failed every retry and was set aside: its results "
                        "are missing from the ledger or its events from the bus.",
                    ),
                )
            },
        )
        for function, name, slug in (
            (ledger_writer, "Ledger writer", "ledger-writer"),
            (publisher, "Outcome publisher", "outcome-publisher"),
        ):
            self.facade.monitor_lambda_function(
                lambda_function=function,
                human_readable_name=name,
                alarm_friendly_name=name.replace(" ", ""),
                is_iterator=True,
                add_max_iterator_age_alarm={
                    SEVERITY: MaxAgeThreshold(
                        max_age_in_millis=STREAM_ITERATOR_AGE_ALARM_MS,
                        **alarm(
                            f"{slug}-iterator-age",
                            f"The {name.lower()} is more than "
                            f"{STREAM_ITERATOR_AGE_ALARM_MS // 60000} minutes behind its "
                            "stream: outcomes reach the ledger or the bus late.",
                        ),
                    )
                },
                add_fault_count_alarm={
                    SEVERITY: ErrorCountThreshold(
                        max_error_count=0,
                        **alarm(
                            f"{slug}-errors",
                            f"The {name.lower()} failed a batch; the stream retries it and "
                            "holds the shard's later records behind it.",
                        ),
                    )
                },
            )
        self.facade.monitor_lambda_function(
            lambda_function=webhooks,
            human_readable_name="Stripe webhooks",
            alarm_friendly_name="StripeWebhooks",
        )
        self.facade.monitor_lambda_function(
            lambda_function=pending_check,
            human_readable_name="Pending check",
            alarm_friendly_name="PendingCheck",
            add_fault_count_alarm={
                SEVERITY: ErrorCountThreshold(
                    max_error_count=0,
                    **alarm(
                        "pending-check-errors",
                        "The pending check failed: until it runs again, requests pending "
                        "too long go unnoticed.",
                    ),
                )
            },
        )
        self.facade.monitor_custom(
            human_readable_name="Outcome events and webhooks",
            alarm_friendly_name="Outcomes",
            metric_groups=[
                CustomMetricGroup(
                    title="Outcome events by kind",
                    graph_widget_type=GraphWidgetType.STACKED_AREA,
                    metrics=[
                        metrics.count(metric, label=state.replace("_", " "))
                        for state, metric in OUTCOME_METRICS.items()
                    ],
                ),
                CustomMetricGroup(
                    title="Dead-lettered outcomes and webhook signature failures",
                    metrics=[
                        self._counter_alarm(
                            metrics,
                            OUTCOME_METRICS["dead_lettered"],
                            "Dead-lettered outcomes",
                            alarm(
                                "dead-lettered-outcome",
                                "A request reached the ledger as dead_lettered: it was not "
                                "charged and waits in the DLQ with its reason.",
                            ),
                        ),
                        self._counter_alarm(
                            metrics,
                            LedgerMetric.WEBHOOK_SIGNATURE_INVALID,
                            "Webhook signature failures",
                            alarm(
                                "webhook-signature-invalid",
                                "The Stripe webhook endpoint refused a request whose "
                                "Stripe-Signature is missing, forged or too old.",
                            ),
                        ),
                    ],
                ),
                CustomMetricGroup(
                    title="Requests pending too long and dead letters the ledger missed",
                    metrics=[
                        CustomMetricWithAlarm(
                            metric=metrics.metric(
                                LedgerMetric.PENDING_TOO_LONG,
                                statistic="Maximum",
                                period=PENDING_CHECK_PERIOD,
                            ),
                            alarm_friendly_name="PendingTooLong",
                            add_alarm={
                                SEVERITY: CustomThreshold(
                                    threshold=0,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    **alarm(
                                        "pending-too-long",
                                        "A request has been pending (a bank debit "
                                        "processing at Stripe) for more than "
                                        f"{settings.pending_alarm_days} days: its webhook "
                                        "is missing or Stripe has not settled it.",
                                    ),
                                )
                            },
                        ),
                        self._counter_alarm(
                            metrics,
                            LedgerMetric.LEDGER_WRITE_FAILED,
                            "Ledger write failed",
                            alarm(
                                "ledger-write-failed",
                                "The charge function could not record a dead letter in the "
                                "ledger; the message was not dead-lettered and comes back.",
                            ),
                        ),
                    ],
                ),
                CustomMetricGroup(
                    title="Webhooks",
                    metrics=[
                        metrics.count(name, label=name)
                        for name in (
                            LedgerMetric.WEBHOOK_APPLIED,
                            LedgerMetric.WEBHOOK_IGNORED,
                            LedgerMetric.WEBHOOK_DEFERRED,
                            LedgerMetric.WEBHOOK_MALFORMED,
                            LedgerMetric.RECORD_SKIPPED,
                        )
                    ],
                ),
            ],
        )
        self.slugs = tuple(alarm.slugs)
        self.alarms = {
            created.alarm_name.removeprefix(f"{settings.resource_prefix}-"): created.alarm
            for created in self.facade.created_alarms()
        }

    def _monitor_function_metrics(self, settings: PipelineSettings, alarm: RunbookAlarms) -> None:
        """The function's own metrics: outcomes, decline rate, conflicts, Stripe."""
        metrics = FunctionMetrics(settings)
        self.facade.monitor_custom(
            human_readable_name="Charge outcomes and Stripe",
            alarm_friendly_name="Charges",
            metric_groups=[
                CustomMetricGroup(
                    title="Outcomes",
                    graph_widget_type=GraphWidgetType.STACKED_AREA,
                    metrics=[metrics.count(name, label=text) for name, text in OUTCOMES],
                ),
                CustomMetricGroup(
                    title="Decline rate (%)",
                    metrics=[
                        CustomMetricWithAlarm(
                            metric=metrics.decline_rate(),
                            alarm_friendly_name="DeclineRate",
                            add_alarm={
                                SEVERITY: CustomThreshold(
                                    threshold=settings.decline_rate_alarm_percent,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    **alarm(
                                        "decline-rate-high",
                                        f"More than {settings.decline_rate_alarm_percent:g} % "
                                        "of charges were declined (over at least "
                                        f"{settings.decline_rate_alarm_min_charges} charges "
                                        "in 5 minutes).",
                                    ),
                                )
                            },
                        )
                    ],
                ),
                CustomMetricGroup(
                    title="Payload conflicts and Stripe rate limiting",
                    metrics=[
                        self._counter_alarm(
                            metrics,
                            MetricName.PAYLOAD_CONFLICT,
                            "Payload conflicts",
                            alarm(
                                "payload-conflict",
                                "A request_id was reused with a different customer, amount, "
                                "currency or payment method; the second message was "
                                "dead-lettered, not charged.",
                            ),
                        ),
                        self._counter_alarm(
                            metrics,
                            MetricName.STRIPE_RATE_LIMITED,
                            "Stripe 429s",
                            alarm(
                                "stripe-rate-limited",
                                "Stripe answered 429: the account's request rate is exhausted; "
                                "charges are being retried.",
                            ),
                        ),
                    ],
                ),
                CustomMetricGroup(
                    title="Stripe latency (ms)",
                    metrics=[
                        metrics.metric(
                            MetricName.STRIPE_LATENCY, statistic=statistic, label=statistic
                        )
                        for statistic in ("p50", "p99")
                    ],
                ),
            ],
        )

    @staticmethod
    def _counter_alarm(
        metrics: FunctionMetrics, name: str, label: str, props: dict[str, Any]
    ) -> CustomMetricWithAlarm:
        """Alarm when the function counted ``name`` at all in a period."""
        return CustomMetricWithAlarm(
            # Unlabelled, so the alarm is a plain metric alarm; the graph uses the friendly name.
            metric=metrics.count(name),
            alarm_friendly_name=label.replace(" ", ""),
            add_alarm={
                SEVERITY: CustomThreshold(
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    **props,
                )
            },
        )
