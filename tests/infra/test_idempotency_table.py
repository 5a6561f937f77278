"""The idempotency table: the record that keeps a redrive from charging twice."""

from __future__ import annotations

from aws_cdk.assertions import Template

from chargeq.settings import PipelineSettings
from tests.infra.policies import arn_of


def test_table_is_retained_with_ttl_pitr_and_on_demand(
    template: Template, settings: PipelineSettings
) -> None:
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": settings.table_name,
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        },
    )


def test_table_is_encrypted_with_the_pipeline_key(template: Template) -> None:
    (key,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": arn_of(key),
            }
        },
    )


def test_key_outlives_the_stack(template: Template) -> None:
    # The retained table stays readable only while its key exists.
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})
