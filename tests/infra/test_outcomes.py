"""The outcome resources of issue 15: the ledger table, the bus and its archive, the stream
event sources, the webhook function URL, and their grants."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from chargeq.settings import PipelineSettings
from tests.infra.policies import actions_on, arn_of, logical_id


def test_ledger_is_kept_recoverable_encrypted_and_listed_by_customer(
    template: Template, settings: PipelineSettings
) -> None:
    ledger = template.find_resources(
        "AWS::DynamoDB::Table", {"Properties": {"TableName": settings.ledger_table_name}}
    )
    ((_, table),) = ledger.items()
    properties = table["Properties"]
    assert "TimeToLiveSpecification" not in properties  # the lasting record: no TTL
    assert table["DeletionPolicy"] == "Retain"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by-customer", "pending-since"}
    by_customer = indexes["by-customer"]
    assert [k["AttributeName"] for k in by_customer["KeySchema"]] == ["customer", "created_at"]
    # Sparse: only pending items carry its keys; the pending check needs nothing but them.
    pending = indexes["pending-since"]
    assert [k["AttributeName"] for k in pending["KeySchema"]] == [
        "pending_partition",
        "pending_since",
    ]
    assert pending["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_idempotency_table_streams_its_new_images(
    template: Template, settings: PipelineSettings
) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TableName": settings.table_name, "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}},
    )


def test_outcome_events_are_archived_for_replay(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Events::Archive",
        {"EventPattern": {"source": ["chargeq"]}, "RetentionDays": 30},
    )


def test_stream_sources_retry_split_and_set_failures_aside(template: Template) -> None:
    mappings = template.find_resources(
        "AWS::Lambda::EventSourceMapping", {"Properties": {"StartingPosition": "TRIM_HORIZON"}}
    )
    assert len(mappings) == 2
    for mapping in mappings.values():
        properties = mapping["Properties"]
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["MaximumRetryAttempts"] == 10
        assert "OnFailure" in properties["DestinationConfig"]


def test_webhook_url_is_public_and_the_function_verifies_signatures(
    template: Template, settings: PipelineSettings
) -> None:
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": settings.webhook_function_name,
            "Handler": "webhooks.handler.lambda_handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"WEBHOOK_SECRET_NAME": settings.default_webhook_secret_name}
                )
            },
        },
    )


def role_of(template: Template, function_name: str) -> str:
    function = logical_id(template, "AWS::Lambda::Function", FunctionName=function_name)
    return str(
        template.find_resources("AWS::Lambda::Function")[function]["Properties"]["Role"][
            "Fn::GetAtt"
        ][0]
    )


def test_each_writer_may_only_update_the_ledger(
    template: Template, settings: PipelineSettings
) -> None:
    ledger = arn_of(
        logical_id(template, "AWS::DynamoDB::Table", TableName=settings.ledger_table_name)
    )
    assert actions_on(template, role_of(template, settings.function_name), ledger) == {
        "dynamodb:UpdateItem"
    }
    assert actions_on(template, role_of(template, settings.outbox_function_name), ledger) == {
        "dynamodb:UpdateItem"
    }
    assert actions_on(template, role_of(template, settings.webhook_function_name), ledger) == {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
    }


def test_the_pending_check_may_only_query_the_pending_index(
    template: Template, settings: PipelineSettings
) -> None:
    table = logical_id(template, "AWS::DynamoDB::Table", TableName=settings.ledger_table_name)
    role = role_of(template, settings.pending_check_function_name)
    pending_index = {"Fn::Join": ["", [arn_of(table), "/index/pending-since"]]}
    assert actions_on(template, role, pending_index) == {"dynamodb:Query"}
    assert actions_on(template, role, arn_of(table)) == set()
    # Its only other grants: reading the table key, and its own log group.
    (key,) = template.find_resources("AWS::KMS::Key")
    assert actions_on(template, role, arn_of(key)) == {"kms:Decrypt", "kms:DescribeKey"}


def test_the_pending_check_runs_on_a_schedule_with_the_alarm_days(
    template: Template, settings: PipelineSettings
) -> None:
    function = logical_id(
        template, "AWS::Lambda::Function", FunctionName=settings.pending_check_function_name
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(15 minutes)",
            "Targets": [Match.object_like({"Arn": arn_of(function)})],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": settings.pending_check_function_name,
            "Handler": "pending_check.handler.lambda_handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"PENDING_ALARM_DAYS": str(settings.pending_alarm_days)}
                )
            },
        },
    )


def test_every_outcome_event_is_delivered_to_the_encrypted_outcome_log(
    template: Template, settings: PipelineSettings
) -> None:
    group = logical_id(
        template, "AWS::Logs::LogGroup", LogGroupName=settings.outcome_log_group_name
    )
    (key,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": settings.outcome_log_group_name, "KmsKeyId": arn_of(key)},
    )
    bus = logical_id(template, "AWS::Events::EventBus", Name=settings.event_bus_name)
    rule = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventBusName": {"Ref": bus}}}
    )
    ((_, properties),) = [(name, r["Properties"]) for name, r in rule.items()]
    assert properties["EventPattern"] == {"source": ["chargeq"]}
    ((target),) = properties["Targets"]
    assert ":log-group:" in str(target["Arn"]) and {"Ref": group} in target["Arn"]["Fn::Join"][1]
    # The key policy lets CloudWatch Logs use the key for this log group only.
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchLogsForTheOutcomeLog",
                                "Condition": {
                                    "ArnEquals": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value()
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_eventbridge_may_write_to_the_outcome_log_without_a_custom_resource(
    template: Template, settings: PipelineSettings
) -> None:
    # CDK's CloudWatchLogGroup target would add an AwsCustomResource (a Node.js function
    # allowed logs:PutResourcePolicy on every resource); a native policy stands in for it.
    (policy,) = template.find_resources("AWS::Logs::ResourcePolicy").values()
    group = logical_id(
        template, "AWS::Logs::LogGroup", LogGroupName=settings.outcome_log_group_name
    )
    parts = policy["Properties"]["PolicyDocument"]["Fn::Join"][1]
    text = "".join(part for part in parts if isinstance(part, str))
    assert '"Service":["events.amazonaws.com","delivery.logs.amazonaws.com"]' in text
    assert '"Action":["logs:CreateLogStream","logs:PutLogEvents"]' in text
    # On this log group only: the one resource is its ARN.
    assert [part for part in parts if not isinstance(part, str)] == [arn_of(group)]
    assert not [
        name
        for name, resource in template.to_json()["Resources"].items()
        if resource["Type"].startswith("Custom::")
    ]


def test_the_local_ledger_has_the_stacks_key_indexes_and_stream(
    template: Template, settings: PipelineSettings
) -> None:
    # The local runtime creates the ledger with boto3 (chargeq_local.resources): the same
    # key, indexes and stream as the stack's, or local runs prove another table.
    from chargeq_local.resources import ledger_table_definition

    local = ledger_table_definition(settings.ledger_table_name)
    ((_, table),) = template.find_resources(
        "AWS::DynamoDB::Table", {"Properties": {"TableName": settings.ledger_table_name}}
    ).items()
    stack = table["Properties"]

    def indexes(definitions: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            index["IndexName"]: (index["KeySchema"], index["Projection"]["ProjectionType"])
            for index in definitions
        }

    assert local["KeySchema"] == stack["KeySchema"]
    assert sorted(local["AttributeDefinitions"], key=str) == sorted(
        stack["AttributeDefinitions"], key=str
    )
    assert indexes(local["GlobalSecondaryIndexes"]) == indexes(stack["GlobalSecondaryIndexes"])
    assert (
        local["StreamSpecification"]["StreamViewType"]
        == (stack["StreamSpecification"]["StreamViewType"])
    )
