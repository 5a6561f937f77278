"""The charge function: runtime, sizing, environment, event source, logs."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Annotations, Match, Template

from chargeq.settings import PipelineSettings
from infra import ChargeQueueStack
from tests.infra.policies import arn_of, charge_function, logical_id


def function_properties(template: Template) -> dict[str, Any]:
    return dict(charge_function(template)["Properties"])


def test_function_runs_python_3_13_on_arm64_with_active_tracing(
    template: Template, settings: PipelineSettings
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": settings.function_name,
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "charges.handler.lambda_handler",
            "Timeout": settings.function_timeout_seconds,
            "MemorySize": settings.function_memory_mb,
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_function_environment_is_the_settings_environment(
    template: Template, settings: PipelineSettings
) -> None:
    table = logical_id(template, "AWS::DynamoDB::Table", TableName=settings.table_name)
    dlq = logical_id(template, "AWS::SQS::Queue", QueueName=settings.dlq_name)
    expected: dict[str, Any] = settings.function_config(
        table_name="TABLE", dlq_url="DLQ", secret_name=settings.secret_name
    ).to_environment()
    ledger = logical_id(template, "AWS::DynamoDB::Table", TableName=settings.ledger_table_name)
    expected |= {
        "IDEMPOTENCY_TABLE_NAME": {"Ref": table},
        "DLQ_URL": {"Ref": dlq},
        "LEDGER_TABLE_NAME": {"Ref": ledger},
    }
    assert function_properties(template)["Environment"]["Variables"] == expected


def test_no_secret_value_in_environment(template: Template, settings: PipelineSettings) -> None:
    variables = function_properties(template)["Environment"]["Variables"]
    # Only the secret's name travels; the function reads the value at run time.
    assert [name for name in variables if "SECRET" in name] == ["STRIPE_SECRET_NAME"]
    assert variables["STRIPE_SECRET_NAME"] == settings.secret_name
    text = json.dumps(template.to_json())
    assert "resolve:secretsmanager" not in text  # no dynamic reference to the value
    assert "sk_live" not in text and "sk_test" not in text


def test_event_source_reports_batch_item_failures_and_caps_concurrency(
    template: Template, settings: PipelineSettings
) -> None:
    queue = logical_id(template, "AWS::SQS::Queue", QueueName=settings.queue_name)
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": arn_of(queue),
            "BatchSize": settings.batch_size,
            "MaximumBatchingWindowInSeconds": settings.max_batching_window_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": settings.max_concurrency},
        },
    )
    # A batch above ten needs a batching window (Lambda's API refuses it otherwise)
    assert (settings.batch_size, settings.max_batching_window_seconds) == (12, 1)


def batch_warnings(stack: ChargeQueueStack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("batch_size"))
    return [str(message.entry.data) for message in found]


def test_synth_warns_when_batches_split_the_rate_limit_windows(
    stack: ChargeQueueStack, configured_stack: ChargeQueueStack
) -> None:
    # The defaults: batches of 12, each container's allowance, no warning
    assert batch_warnings(stack) == []
    # Batches of 5 with 4 containers (6 requests per window each) leave slots unused
    assert configured_stack.settings.container_allowance == 6
    [warning] = batch_warnings(configured_stack)
    assert "batch_size (5) is not a multiple" in warning
    assert "allowance (6 requests per window" in warning


def test_function_logs_to_its_own_log_group_with_retention(
    template: Template, settings: PipelineSettings
) -> None:
    group = logical_id(
        template,
        "AWS::Logs::LogGroup",
        LogGroupName=f"/aws/lambda/{settings.function_name}",
        RetentionInDays=30,
    )
    assert function_properties(template)["LoggingConfig"] == {"LogGroup": {"Ref": group}}


def test_no_role_has_managed_policies(template: Template) -> None:
    # AWSLambdaBasicExecutionRole would let the function write to every log group.
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_reserved_concurrency_is_the_event_source_maximum(
    template: Template, configured_template: Template
) -> None:
    # The event source never runs more than its maximum concurrency, so reserving exactly
    # that never throttles it, and other functions cannot take it away.
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 2})
    configured_template.has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": 4}
    )


def test_environment_and_logs_are_under_the_pipeline_key(
    template: Template, settings: PipelineSettings
) -> None:
    (key,) = template.find_resources("AWS::KMS::Key")
    assert function_properties(template)["KmsKeyArn"] == arn_of(key)
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/lambda/{settings.function_name}", "KmsKeyId": arn_of(key)},
    )


def test_cloudwatch_logs_may_use_the_key_for_this_log_group_only(
    template: Template, settings: PipelineSettings
) -> None:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (statement,) = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if "logs." in json.dumps(statement["Principal"])
        and f'/aws/lambda/{settings.function_name}"' in json.dumps(statement["Condition"])
    ]
    condition = json.dumps(statement["Condition"]["ArnEquals"])
    assert "kms:EncryptionContext:aws:logs:arn" in condition
    assert f":log-group:/aws/lambda/{settings.function_name}" in condition


def test_checkov_skips_on_the_function_say_why(template: Template) -> None:
    skips = charge_function(template)["Metadata"]["checkov"]["skip"]
    # Only the checks that do not apply: a Lambda DLQ (SQS-invoked) and a VPC.
    assert {skip["id"] for skip in skips} == {"CKV_AWS_116", "CKV_AWS_117"}
    assert all(len(skip["comment"]) > 40 for skip in skips)
