"""The charges ledger: one item per request, kept for good, with a stream of its changes."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.constructs.idempotency_table import TABLE_KMS_ACTIONS
from ledger.store import CUSTOMER_INDEX, LedgerAttribute


class LedgerTable(Construct):
    """Key ``request_id``; no TTL; PITR; the pipeline's key; a customer index by time; a
    stream with new and old images (the outbox of the outcome events)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=settings.ledger_table_name,
            partition_key=dynamodb.Attribute(
                name=LedgerAttribute.KEY, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            # The lasting record of every charge: never deleted with the stack.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=CUSTOMER_INDEX,
            partition_key=dynamodb.Attribute(
                name=LedgerAttribute.CUSTOMER, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=LedgerAttribute.CREATED_AT, type=dynamodb.AttributeType.STRING
            ),
        )

    def grant_transitions(self, grantee: iam.IGrantable) -> iam.Grant:
        """The conditional UpdateItem that applies a fact, on this table only."""
        return self._grant_items(grantee, "dynamodb:UpdateItem")

    def grant_transitions_and_reads(self, grantee: iam.IGrantable) -> iam.Grant:
        """UpdateItem and GetItem (the webhook endpoint reads an item it could not move)."""
        return self._grant_items(grantee, "dynamodb:UpdateItem", "dynamodb:GetItem")

    def grant_reads(self, grantee: iam.IGrantable) -> iam.Grant:
        """GetItem on the table and Query on its customer index (``chargeq status``)."""
        grant = self._grant_items(grantee, "dynamodb:GetItem")
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table.table_arn}/index/{CUSTOMER_INDEX}"],
        )
        return grant

    def _grant_items(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        # table.grant() would add every index (``index/*``) too: item calls need the table.
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.table.table_arn]
        )
        self._key.grant(grantee, *TABLE_KMS_ACTIONS)
        return grant
