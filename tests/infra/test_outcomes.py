"""The outcome resources of issue 15: the ledger table, the bus and its archive, the stream
event sources, the webhook function URL, and their grants."""

from __future__ import annotations

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
    (index,) = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-customer"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["customer", "created_at"]


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
