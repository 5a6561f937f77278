"""Create the queue, DLQ, tables, event bus and secrets from ``PipelineSettings``.

The same settings object the CDK stack is built from, so retention, ``maxReceiveCount``
and visibility timeout locally are the deployed ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from chargeq.deployment import queue_arn
from chargeq.settings import PipelineSettings
from chargeq_local.outcome_bus import provision_bus
from charges.claims import RecordAttribute
from charges.config import FunctionConfig
from ledger.store import CUSTOMER_INDEX, PENDING_INDEX, LedgerAttribute


@dataclass(frozen=True)
class Resources:
    """Where a pipeline's resources are: what the stack's outputs say in AWS."""

    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    table_name: str
    secret_name: str
    ledger_table_name: str
    #: The idempotency table's and the ledger's streams (the stack's event sources).
    table_stream_arn: str
    ledger_stream_arn: str
    #: The outcome bus, the queue standing for a producer's subscription to it, the log
    #: group its rule also delivers to, and the webhook endpoint's signing secret's name.
    event_bus_name: str
    subscription_queue_url: str
    outcome_log_group_name: str
    webhook_secret_name: str

    def function_config(self, settings: PipelineSettings, stripe_api_base: str) -> FunctionConfig:
        """The charge function's settings for these resources and this Stripe."""
        return settings.function_config(
            table_name=self.table_name,
            dlq_url=self.dlq_url,
            secret_name=self.secret_name,
            ledger_table_name=self.ledger_table_name,
            stripe_api_base=stripe_api_base,
        )


def provision(
    session: boto3.Session,
    settings: PipelineSettings,
    stripe_api_key: str,
    endpoint_url: str | None = None,
    webhook_secret: str | None = None,
) -> Resources:
    """Create (or find) every resource the functions need; safe to call twice.

    ``webhook_secret`` (``whsec_...``) is stored under ``settings.webhook_secret_name`` for
    the webhook endpoint, when given.
    """
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    dlq_url = sqs.create_queue(
        QueueName=settings.dlq_name,
        Attributes={"MessageRetentionPeriod": str(settings.dlq_retention_seconds)},
    )["QueueUrl"]
    dlq_arn = queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=settings.queue_name,
        Attributes={
            "MessageRetentionPeriod": str(settings.queue_retention_seconds),
            "VisibilityTimeout": str(settings.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
        },
    )["QueueUrl"]
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    _create_table(dynamodb, settings.table_name)
    _create_ledger(dynamodb, settings.ledger_table_name)
    _put_secret(
        session.client("secretsmanager", endpoint_url=endpoint_url),
        settings.secret_name,
        stripe_api_key,
    )
    if webhook_secret is not None:
        _put_secret(
            session.client("secretsmanager", endpoint_url=endpoint_url),
            settings.webhook_secret_name,
            webhook_secret,
        )
    subscription_queue_url = provision_bus(
        session.client("events", endpoint_url=endpoint_url),
        sqs,
        session.client("logs", endpoint_url=endpoint_url),
        settings,
        session.region_name or "us-east-1",
    )
    return Resources(
        queue_url=queue_url,
        queue_arn=queue_arn(sqs, queue_url),
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        table_name=settings.table_name,
        secret_name=settings.secret_name,
        ledger_table_name=settings.ledger_table_name,
        table_stream_arn=_stream_arn(dynamodb, settings.table_name),
        ledger_stream_arn=_stream_arn(dynamodb, settings.ledger_table_name),
        event_bus_name=settings.event_bus_name,
        subscription_queue_url=subscription_queue_url,
        outcome_log_group_name=settings.outcome_log_group_name,
        webhook_secret_name=settings.webhook_secret_name,
    )


def _create_table(dynamodb: Any, name: str) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": RecordAttribute.KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": RecordAttribute.KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            # The charge path's outbox: the ledger writer reads stored results from it.
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": RecordAttribute.EXPIRY},
    )


def _create_ledger(dynamodb: Any, name: str) -> None:
    """The charges ledger as the stack makes it: key, customer index, stream of changes."""
    try:
        dynamodb.create_table(**ledger_table_definition(name))
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def ledger_table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments of the ledger (``infra.constructs.ledger_table`` is the
    stack's: the same key, indexes and stream)."""
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": LedgerAttribute.KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": LedgerAttribute.KEY, "AttributeType": "S"},
            {"AttributeName": LedgerAttribute.CUSTOMER, "AttributeType": "S"},
            {"AttributeName": LedgerAttribute.CREATED_AT, "AttributeType": "S"},
            {"AttributeName": LedgerAttribute.PENDING_PARTITION, "AttributeType": "S"},
            {"AttributeName": LedgerAttribute.PENDING_SINCE, "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": CUSTOMER_INDEX,
                "KeySchema": [
                    {"AttributeName": LedgerAttribute.CUSTOMER, "KeyType": "HASH"},
                    {"AttributeName": LedgerAttribute.CREATED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                # Sparse: only pending items carry its keys (ledger.store).
                "IndexName": PENDING_INDEX,
                "KeySchema": [
                    {"AttributeName": LedgerAttribute.PENDING_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": LedgerAttribute.PENDING_SINCE, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def _stream_arn(dynamodb: Any, name: str) -> str:
    return str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])


def _put_secret(secrets: Any, name: str, value: str) -> None:
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)
