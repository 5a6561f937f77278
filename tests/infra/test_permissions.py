"""Least privilege: each grant names its resource and only the actions the caller makes."""

from __future__ import annotations

from aws_cdk.assertions import Template

from chargeq.settings import PipelineSettings
from tests.infra.policies import actions_on, arn_of, logical_id, role_of_function, statements

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
#: The stream event sources' listing, which has no resource-level permission.
LIST_STREAMS = {"dynamodb:ListStreams"}


def test_function_consumes_the_queue(template: Template, settings: PipelineSettings) -> None:
    queue = logical_id(template, "AWS::SQS::Queue", QueueName=settings.queue_name)
    assert actions_on(template, role_of_function(template), arn_of(queue)) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def test_function_may_only_send_to_the_dlq(template: Template, settings: PipelineSettings) -> None:
    dlq = logical_id(template, "AWS::SQS::Queue", QueueName=settings.dlq_name)
    assert actions_on(template, role_of_function(template), arn_of(dlq)) == {"sqs:SendMessage"}


def test_function_makes_only_the_four_idempotency_calls_on_the_table(
    template: Template, settings: PipelineSettings
) -> None:
    table = logical_id(template, "AWS::DynamoDB::Table", TableName=settings.table_name)
    assert actions_on(template, role_of_function(template), arn_of(table)) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }


def test_function_uses_the_key_without_wildcard_actions(template: Template) -> None:
    (key,) = template.find_resources("AWS::KMS::Key")
    assert actions_on(template, role_of_function(template), arn_of(key)) == {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_function_reads_only_its_own_secret(template: Template, settings: PipelineSettings) -> None:
    secret = logical_id(template, "AWS::SecretsManager::Secret", Name=settings.default_secret_name)
    role = role_of_function(template)
    assert actions_on(template, role, {"Ref": secret}) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    secret_statements = [
        statement
        for statement in statements(template)
        if any(action.startswith("secretsmanager:") for action in statement.actions)
    ]
    # The other secret: the webhook endpoint's signing secret, read by that function only.
    webhook_secret = logical_id(
        template, "AWS::SecretsManager::Secret", Name=settings.default_webhook_secret_name
    )
    assert sorted(str(statement.resources) for statement in secret_statements) == sorted(
        [str(({"Ref": secret},)), str(({"Ref": webhook_secret},))]
    )
    assert actions_on(template, role, {"Ref": webhook_secret}) == set()


def test_imported_secret_is_read_by_its_name_only(configured_template: Template) -> None:
    # GIVEN chargeq:stripe_secret_name WHEN synthesized THEN the Stripe key's secret is not
    # created, and the grant is on that name's ARN (Secrets Manager appends six random
    # characters); the webhook signing secret is still created.
    configured_template.resource_count_is("AWS::SecretsManager::Secret", 1)
    (statement,) = [
        statement
        for statement in statements(configured_template)
        if "secretsmanager:GetSecretValue" in statement.actions
        and "stripe-live" in str(statement.resources)
    ]
    (resource,) = statement.resources
    assert ":secret:payments/stripe-live-??????" in str(resource)


def test_no_wildcard_resources_except_xray(template: Template) -> None:
    for statement in statements(template):
        assert not any("*" in action for action in statement.actions), statement
        if "*" in statement.resources:
            assert set(statement.actions) <= XRAY_ACTIONS | LIST_STREAMS, statement


def test_no_put_metric_data_because_metrics_are_emf_logs(template: Template) -> None:
    granted = {action for statement in statements(template) for action in statement.actions}
    assert "cloudwatch:PutMetricData" not in granted


def test_producer_grant_is_send_only(
    producer_template: Template, settings: PipelineSettings
) -> None:
    template = producer_template
    (producer,) = [
        name
        for name, role in template.find_resources("AWS::IAM::Role").items()
        if "ecs-tasks.amazonaws.com" in str(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    queue = logical_id(template, "AWS::SQS::Queue", QueueName=settings.queue_name)
    (key,) = template.find_resources("AWS::KMS::Key")
    assert actions_on(template, producer, arn_of(queue)) == {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    # SSE-KMS: a sender needs a data key, and nothing more of the key.
    assert actions_on(template, producer, arn_of(key)) == {"kms:GenerateDataKey", "kms:Decrypt"}
    reachable = {
        resource
        for statement in statements(template)
        if producer in statement.roles
        for resource in map(str, statement.resources)
    }
    assert reachable == {str(arn_of(queue)), str(arn_of(key))}


def test_created_secret_is_under_the_pipeline_key(template: Template) -> None:
    (key,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": arn_of(key)})
