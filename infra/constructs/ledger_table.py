"""The charges ledger: one item per request, kept for good, with a stream of its changes."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.constructs.tables import TABLE_KMS_ACTIONS, TABLE_KMS_READ_ACTIONS, retained_table
from ledger.store import CUSTOMER_INDEX, PENDING_INDEX, LedgerAttribute


class LedgerTable(Construct):
    """Key ``request_id``; no TTL (``tables.retained_table`` otherwise); a customer index by
    time; the sparse index of pending requests; a stream with new and old images (the
    outbox of the outcome events)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.table = retained_table(
            self,
            table_name=settings.ledger_table_name,
            partition_key=LedgerAttribute.KEY,
            key=key,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        self.table.add_global_secondary_index(
            index_name=CUSTOMER_INDEX,
            partition_key=_string(LedgerAttribute.CUSTOMER),
            sort_key=_string(LedgerAttribute.CREATED_AT),
        )
        # Sparse: only pending items carry its keys (ledger.store). Keys only: the pending
        # check counts and names requests, nothing more.
        self.table.add_global_secondary_index(
            index_name=PENDING_INDEX,
            partition_key=_string(LedgerAttribute.PENDING_PARTITION),
            sort_key=_string(LedgerAttribute.PENDING_SINCE),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
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
        self._grant_index_query(grantee, CUSTOMER_INDEX)
        return grant

    def grant_pending_query(self, grantee: iam.IGrantable) -> iam.Grant:
        """Query on the pending index only (the pending check), and the key to read it."""
        return self._grant_index_query(grantee, PENDING_INDEX)

    def _grant_index_query(self, grantee: iam.IGrantable, index: str) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.table.table_arn}/index/{index}"],
        )
        self._key.grant(grantee, *TABLE_KMS_READ_ACTIONS)
        return grant

    def _grant_items(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        # table.grant() would add every index (``index/*``) too: item calls need the table.
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.table.table_arn]
        )
        self._key.grant(grantee, *TABLE_KMS_ACTIONS)
        return grant


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
