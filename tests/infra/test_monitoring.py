"""Alarms, their topic and the dashboard (cdk-monitoring-constructs and the function's metrics)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from chargeq.settings import METRICS_NAMESPACE, MetricName, PipelineSettings
from ledger.metric_names import OUTCOME_METRICS, LedgerMetric
from tests.infra.policies import arn_of, logical_id

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    """Alarm properties by alarm name."""
    return {
        resource["Properties"]["AlarmName"]: resource["Properties"]
        for resource in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def watched(alarm: dict[str, Any]) -> dict[str, Any]:
    """The one metric an alarm watches: namespace, name, statistic, dimensions.

    An alarm on an unlabelled metric names it directly; the library labels its metrics (and
    wraps DynamoDB's throttles in ``FILL(..., 0)``), which CloudFormation renders as a
    ``Metrics`` list of queries: the metric is the one query with a ``MetricStat``.
    """
    if "MetricName" in alarm:
        return {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Stat": alarm.get("Statistic", alarm.get("ExtendedStatistic")),
            "Dimensions": alarm["Dimensions"],
        }
    (query,) = [query for query in alarm["Metrics"] if "MetricStat" in query]
    metric = query["MetricStat"]["Metric"]
    return {
        "Namespace": metric["Namespace"],
        "MetricName": metric["MetricName"],
        "Stat": query["MetricStat"]["Stat"],
        "Dimensions": metric["Dimensions"],
    }


def runbook_anchors() -> set[str]:
    """GitHub's anchors for the runbook's headings."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_alarm_names_a_runbook_section(template: Template) -> None:
    anchors = runbook_anchors()
    for name, alarm in alarms(template).items():
        match = re.search(r"Runbook: docs/runbook\.md#([\w-]+)", alarm["AlarmDescription"])
        assert match, f"{name} names no runbook section"
        assert match.group(1) in anchors, f"{name}: no section #{match.group(1)} in runbook"
        assert name.endswith(match.group(1))


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    (topic,) = template.find_resources("AWS::SNS::Topic")
    # 10 of the charge path, 10 of the outcomes (issue 15)
    assert len(alarms(template)) == 20
    for alarm in alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["OKActions"] == [{"Ref": topic}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize(
    ("slug", "namespace", "metric", "statistic", "threshold"),
    [
        ("dlq-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 0),
        ("oldest-message-too-old", "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", 900),
        ("function-errors", "AWS/Lambda", "Errors", "Sum", 0),
        ("function-throttles", "AWS/Lambda", "Throttles", "Sum", 0),
        ("payload-conflict", METRICS_NAMESPACE, MetricName.PAYLOAD_CONFLICT, "Sum", 0),
        ("stripe-rate-limited", METRICS_NAMESPACE, MetricName.STRIPE_RATE_LIMITED, "Sum", 0),
        ("idempotency-writes-throttled", "AWS/DynamoDB", "WriteThrottleEvents", "Sum", 0),
        ("idempotency-reads-throttled", "AWS/DynamoDB", "ReadThrottleEvents", "Sum", 0),
        # Issue 15: the outcomes.
        ("ledger-writer-iterator-age", "AWS/Lambda", "IteratorAge", "Maximum", 300_000),
        ("ledger-writer-errors", "AWS/Lambda", "Errors", "Sum", 0),
        ("outcome-publisher-iterator-age", "AWS/Lambda", "IteratorAge", "Maximum", 300_000),
        ("outcome-publisher-errors", "AWS/Lambda", "Errors", "Sum", 0),
        (
            "stream-failures-not-empty",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            0,
        ),
        ("dead-lettered-outcome", METRICS_NAMESPACE, "OutcomeDeadLettered", "Sum", 0),
        ("ledger-write-failed", METRICS_NAMESPACE, LedgerMetric.LEDGER_WRITE_FAILED, "Sum", 0),
        (
            "webhook-signature-invalid",
            METRICS_NAMESPACE,
            LedgerMetric.WEBHOOK_SIGNATURE_INVALID,
            "Sum",
            0,
        ),
        ("pending-too-long", METRICS_NAMESPACE, LedgerMetric.PENDING_TOO_LONG, "Maximum", 0),
        ("pending-check-errors", "AWS/Lambda", "Errors", "Sum", 0),
    ],
)
def test_alarm_watches_its_metric_with_the_settings_threshold(
    template: Template,
    settings: PipelineSettings,
    slug: str,
    namespace: str,
    metric: str,
    statistic: str,
    threshold: float,
) -> None:
    alarm = alarms(template)[f"{settings.resource_prefix}-{slug}"]
    metric_stat = watched(alarm)
    assert (metric_stat["Namespace"], metric_stat["MetricName"]) == (namespace, metric)
    assert metric_stat["Stat"] == statistic
    assert alarm["Threshold"] == threshold
    if namespace == METRICS_NAMESPACE:
        # Powertools' default dimension: service = POWERTOOLS_SERVICE_NAME.
        assert metric_stat["Dimensions"] == [{"Name": "service", "Value": settings.resource_prefix}]


def test_dlq_alarm_watches_the_dlq(template: Template, settings: PipelineSettings) -> None:
    (dlq,) = [
        name
        for name, queue in template.find_resources("AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == settings.dlq_name
    ]
    alarm = alarms(template)[f"{settings.resource_prefix}-dlq-not-empty"]
    assert watched(alarm)["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
    ]


def test_throttle_alarms_watch_the_idempotency_table(
    template: Template, settings: PipelineSettings
) -> None:
    # The claim of every charge is a conditional write to this table.
    table = logical_id(template, "AWS::DynamoDB::Table", TableName=settings.table_name)
    for slug in ("idempotency-writes-throttled", "idempotency-reads-throttled"):
        alarm = alarms(template)[f"{settings.resource_prefix}-{slug}"]
        assert watched(alarm)["Dimensions"] == [{"Name": "TableName", "Value": {"Ref": table}}]
        # A period without throttles publishes no data point: it reads as zero, not missing.
        (expression,) = [query["Expression"] for query in alarm["Metrics"] if "Expression" in query]
        assert expression.startswith("FILL(")


def test_duration_alarm_is_p99_against_a_share_of_the_timeout(
    template: Template, settings: PipelineSettings
) -> None:
    alarm = alarms(template)[f"{settings.resource_prefix}-duration-near-timeout"]
    assert watched(alarm)["MetricName"] == "Duration"
    assert watched(alarm)["Stat"] == "p99"
    assert alarm["Threshold"] == 30_000 * 0.8 == settings.duration_alarm_threshold_ms


def test_decline_rate_alarm_divides_declines_by_final_outcomes(
    template: Template, settings: PipelineSettings
) -> None:
    alarm = alarms(template)[f"{settings.resource_prefix}-decline-rate-high"]
    assert alarm["Threshold"] == settings.decline_rate_alarm_percent
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    expression = next(q["Expression"] for q in queries.values() if "Expression" in q)
    assert "100 * FILL(declined, 0) / (FILL(succeeded, 0) + FILL(declined, 0))" in expression
    assert f">= {settings.decline_rate_alarm_min_charges}" in expression
    assert queries["succeeded"]["MetricStat"]["Metric"]["MetricName"] == MetricName.SUCCEEDED
    assert queries["declined"]["MetricStat"]["Metric"]["MetricName"] == MetricName.DECLINED


def test_alarm_topic_is_encrypted_and_enforces_ssl(template: Template) -> None:
    (key,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": arn_of(key)})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_cloudwatch_may_publish_to_the_topic_and_use_its_key(template: Template) -> None:
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Allow", "Principal": cloudwatch})]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": cloudwatch,
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_email_subscription_only_when_configured(
    template: Template, configured_template: Template
) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)
    configured_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_dashboard_shows_outcomes_queues_function_and_stripe_latency(
    template: Template, settings: PipelineSettings
) -> None:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == settings.resource_prefix
    body = str(dashboard["Properties"]["DashboardBody"])
    for metric in (
        MetricName.SUCCEEDED,
        MetricName.DECLINED,
        MetricName.DUPLICATE_SUPPRESSED,
        MetricName.TRANSIENT_FAILURE,
        MetricName.POISON,
        MetricName.STRIPE_LATENCY,
        "NumberOfMessagesSent",
        "NumberOfMessagesDeleted",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "Duration",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ):
        assert f'\\"{metric}\\"' in body or f'"{metric}"' in body, metric
    assert '\\"stat\\":\\"p99\\"' in body or '"stat":"p99"' in body
    # Every alarm's state on the same page.
    assert '\\"type\\":\\"alarm\\"' in body or '"type":"alarm"' in body


#: Issue 15's alarms, each with the runbook section on-call opens.
OUTCOME_ALARMS = (
    "webhook-signature-invalid",
    "ledger-writer-iterator-age",
    "ledger-writer-errors",
    "outcome-publisher-iterator-age",
    "outcome-publisher-errors",
    "pending-too-long",
    "pending-check-errors",
    "dead-lettered-outcome",
    "stream-failures-not-empty",
    "ledger-write-failed",
)


@pytest.mark.parametrize("slug", OUTCOME_ALARMS)
def test_each_outcome_alarm_exists_and_links_its_runbook_section(
    template: Template, settings: PipelineSettings, slug: str
) -> None:
    alarm = alarms(template)[f"{settings.resource_prefix}-{slug}"]
    assert alarm["AlarmDescription"].endswith(f"Runbook: docs/runbook.md#{slug}")
    section = RUNBOOK.read_text().split(f"\n## {slug}\n", 1)[1].split("\n## ", 1)[0]
    # Each section says what the alarm means and what to do.
    assert "**Means.**" in section
    assert re.search(r"\*\*(Look and )?[Ff]ix\.\*\*", section), slug


def test_stream_alarms_watch_each_stream_consumer(
    template: Template, settings: PipelineSettings
) -> None:
    for slug, function_name in (
        ("ledger-writer", settings.outbox_function_name),
        ("outcome-publisher", settings.publisher_function_name),
    ):
        function = logical_id(template, "AWS::Lambda::Function", FunctionName=function_name)
        for kind in ("iterator-age", "errors"):
            alarm = alarms(template)[f"{settings.resource_prefix}-{slug}-{kind}"]
            assert watched(alarm)["Dimensions"] == [
                {"Name": "FunctionName", "Value": {"Ref": function}}
            ]


def test_stream_failures_alarm_watches_the_stream_failures_queue(
    template: Template, settings: PipelineSettings
) -> None:
    queue = logical_id(
        template, "AWS::SQS::Queue", QueueName=f"{settings.resource_prefix}-stream-failures"
    )
    alarm = alarms(template)[f"{settings.resource_prefix}-stream-failures-not-empty"]
    assert watched(alarm)["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
    ]


def test_pending_alarm_takes_the_largest_count_over_an_hour_of_checks(
    template: Template, settings: PipelineSettings
) -> None:
    # The check runs every 15 minutes and publishes its count each time, zero included:
    # an hour holds four points, so one late run neither clears nor raises the alarm.
    alarm = alarms(template)[f"{settings.resource_prefix}-pending-too-long"]
    assert alarm["Period"] == 3600
    assert alarm["Statistic"] == "Maximum"
    assert f"more than {settings.pending_alarm_days} days" in alarm["AlarmDescription"]


def test_dashboard_shows_outcome_events_by_kind(template: Template) -> None:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = str(dashboard["Properties"]["DashboardBody"])
    assert "Outcome events by kind" in body
    for metric in OUTCOME_METRICS.values():
        assert f'\\"{metric}\\"' in body or f'"{metric}"' in body, metric
