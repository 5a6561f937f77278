"""The pipeline's DynamoDB tables share one shape: on demand, recoverable, under the
pipeline's key, kept when the stack goes, with a stream; and the key actions DynamoDB needs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

#: The key actions DynamoDB performs on a caller's behalf for a customer-managed key: decrypt
#: (and describe) the table key on reads, encrypt on writes. Named one by one instead of
#: the wildcards grant_encrypt_decrypt adds.
TABLE_KMS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
#: What a caller that only reads needs of the table key.
TABLE_KMS_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


def retained_table(
    scope: Construct,
    *,
    table_name: str,
    partition_key: str,
    key: kms.IKey,
    stream: dynamodb.StreamViewType,
    time_to_live_attribute: str | None = None,
) -> dynamodb.Table:
    """A table (child ``Table``) keyed on the string ``partition_key``: on-demand, with
    point-in-time recovery, encrypted with ``key``, streaming ``stream``, and retained:
    both tables hold what a charge's safety or history rests on, never deleted with the
    stack."""
    return dynamodb.Table(
        scope,
        "Table",
        table_name=table_name,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        time_to_live_attribute=time_to_live_attribute,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        removal_policy=RemovalPolicy.RETAIN,
        stream=stream,
    )
