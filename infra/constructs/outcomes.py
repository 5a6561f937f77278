"""Every outcome reaches its producer: the ledger's writers and the outcome publisher.

- ``LedgerWriter``: the idempotency table's stream -> the ledger (``functions/outbox``);
- ``OutcomePublisher``: the ledger's stream -> ``charge.<state>`` on the bus
  (``functions/outcome_events``);
- ``WebhookEndpoint``: Stripe's webhooks -> the ledger, behind a function URL
  (``functions/webhooks``);
- ``OutcomeLog``: every outcome event -> a log group (``chargeq outcomes``);
- ``PendingCheck``: the requests pending too long, counted on a schedule
  (``functions/pending_check``).

Stream event sources start at the trim horizon, report batch item failures, split a
failing batch to find the record, and after ``STREAM_RETRIES`` send the failed batch's
description to an encrypted queue (the on-failure destination) instead of blocking the
shard for a day.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chargeq.settings import METRICS_NAMESPACE, OutputName, PipelineSettings
from infra.checkov import skip_checks
from infra.constructs.ledger_table import LedgerTable
from infra.constructs.outcome_bus import OutcomeBus
from infra.constructs.outcome_log import OutcomeLog
from infra.constructs.pending_check import PendingCheck
from infra.constructs.pipeline_function import PipelineFunction
from ledger.store import LEDGER_TABLE_ENV
from outcome_events.handler import EVENT_BUS_ENV
from webhooks.handler import SECRET_NAME_ENV, TOLERANCE_ENV

#: Retries of a failing stream batch before it goes to the failure queue (each halves it).
STREAM_RETRIES = 10
STREAM_CONCURRENCY = 5
WEBHOOK_CONCURRENCY = 10

STREAM_NO_DLQ = (
    "Invoked by a DynamoDB stream event source mapping, never asynchronously: failed "
    "batches go to the mapping's on-failure SQS destination."
)
URL_NO_DLQ = (
    "Invoked synchronously through its function URL: a failure is an HTTP error, and Stripe "
    "sends the event again."
)


def powertools_environment(settings: PipelineSettings) -> dict[str, str]:
    """Service and namespace as the charge function's, so metrics share the dimension."""
    return {
        "POWERTOOLS_SERVICE_NAME": settings.resource_prefix,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


class Outcomes(Construct):
    """The ledger, the bus, and the three functions between them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        key: kms.IKey,
        idempotency_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ledger = LedgerTable(self, "Ledger", settings=settings, key=key)
        self.bus = OutcomeBus(self, "Bus", settings=settings)
        self.log = OutcomeLog(self, "Log", settings=settings, bus=self.bus.bus, key=key)
        self.stream_failures = sqs.Queue(
            self,
            "StreamFailures",
            queue_name=f"{settings.resource_prefix}-stream-failures",
            # SQS-managed keys: a failure record holds shard IDs and sequence numbers, never
            # an item, and a KMS-encrypted destination would need kms:GenerateDataKey* and
            # kms:ReEncrypt* (wildcards) on both stream functions' roles.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        skip_checks(
            self.stream_failures,
            (
                "CKV_AWS_27",
                "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this check does "
                "not recognise; it holds stream positions, never item data.",
            ),
        )
        Validations.of(self.stream_failures).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="It is itself a dead-letter destination (stream batches that failed "
                "every retry); nothing consumes it automatically.",
            )
        )
        base = powertools_environment(settings)
        table_name = self.ledger.table.table_name

        self.writer = PipelineFunction(
            self,
            "LedgerWriter",
            function_name=settings.outbox_function_name,
            description="Writes each stored charge result to the charges ledger",
            handler="outbox.handler.lambda_handler",
            key=key,
            environment=base | {LEDGER_TABLE_ENV: table_name},
            reserved_concurrency=STREAM_CONCURRENCY,
            no_dlq_reason=STREAM_NO_DLQ,
        )
        self.ledger.grant_transitions(self.writer.function)
        self.writer.function.add_event_source(self._stream_source(idempotency_table, self.writer))

        self.publisher = PipelineFunction(
            self,
            "OutcomePublisher",
            function_name=settings.publisher_function_name,
            description="Publishes each state change of the ledger as an outcome event",
            handler="outcome_events.handler.lambda_handler",
            key=key,
            environment=base | {EVENT_BUS_ENV: self.bus.bus.event_bus_name},
            reserved_concurrency=STREAM_CONCURRENCY,
            no_dlq_reason=STREAM_NO_DLQ,
        )
        self.bus.grant_publish(self.publisher.function)
        self.publisher.function.add_event_source(
            self._stream_source(self.ledger.table, self.publisher)
        )

        self.webhook_secret = self._webhook_secret(settings, key)
        self.webhooks = PipelineFunction(
            self,
            "StripeWebhooks",
            function_name=settings.webhook_function_name,
            description="Verifies Stripe webhook events and settles pending charges",
            handler="webhooks.handler.lambda_handler",
            key=key,
            environment=base
            | {
                LEDGER_TABLE_ENV: table_name,
                SECRET_NAME_ENV: settings.webhook_secret_name,
                TOLERANCE_ENV: str(settings.webhook_tolerance_seconds),
            },
            reserved_concurrency=WEBHOOK_CONCURRENCY,
            no_dlq_reason=URL_NO_DLQ,
            timeout_seconds=10,
        )
        self.ledger.grant_transitions_and_reads(self.webhooks.function)
        self.webhook_secret.grant_read(self.webhooks.function)
        # A function URL, not API Gateway: Stripe signs each request and the function
        # checks the signature, so IAM auth (which Stripe cannot do) and an API's
        # authorizers, stages and usage plans would add cost and a hop for nothing;
        # reserved concurrency bounds a flood.
        self.webhook_url = self.webhooks.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE
        )
        skip_checks(
            self.webhook_url,
            (
                "CKV_AWS_258",
                "Stripe cannot sign AWS requests; every request is authenticated by its "
                "Stripe-Signature (HMAC-SHA256 with the endpoint's secret) before anything "
                "is written.",
            ),
        )
        self.pending_check = PendingCheck(
            self, "PendingCheck", settings=settings, key=key, ledger=self.ledger, environment=base
        )
        self.outputs = {
            OutputName.LEDGER_TABLE_NAME: table_name,
            OutputName.EVENT_BUS_NAME: self.bus.bus.event_bus_name,
            OutputName.OUTCOME_LOG_GROUP_NAME: self.log.log_group.log_group_name,
            OutputName.WEBHOOK_URL: self.webhook_url.url,
        }

    def _stream_source(
        self, table: dynamodb.ITable, function: PipelineFunction
    ) -> event_sources.DynamoEventSource:
        # The event source grants dynamodb:ListStreams, which has no resource-level
        # permission (Service Authorization Reference, Amazon DynamoDB).
        Validations.of(function.role.node.find_child("DefaultPolicy")).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="dynamodb:ListStreams, added by the stream event source, supports no "
                "resource-level permissions; the stream reads name the stream's ARN.",
            )
        )
        return event_sources.DynamoEventSource(
            table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=100,
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRIES,
            on_failure=event_sources.SqsDlq(self.stream_failures),
        )

    def _webhook_secret(self, settings: PipelineSettings, key: kms.IKey) -> secretsmanager.ISecret:
        if settings.stripe_webhook_secret_name:
            return secretsmanager.Secret.from_secret_name_v2(
                self, "ImportedWebhookSecret", settings.stripe_webhook_secret_name
            )
        created = secretsmanager.Secret(
            self,
            "WebhookSecret",
            secret_name=settings.default_webhook_secret_name,
            description=(
                f"Stripe webhook signing secret (whsec_...) for {settings.resource_prefix}. "
                "Created with a placeholder: put the endpoint's secret after the first deploy."
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
            encryption_key=key,
        )
        Validations.of(created).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Webhook signing secrets are rolled in the Stripe dashboard, which "
                "Secrets Manager cannot do (runbook: webhook-signature-invalid).",
            )
        )
        return created
