"""The DynamoDB table behind Powertools idempotency: one record per charge request."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from chargeq.settings import PipelineSettings
from charges.claims import RecordAttribute
from infra.constructs.tables import TABLE_KMS_ACTIONS, retained_table

#: Exactly what Powertools' DynamoDBPersistenceLayer calls: claim (PutItem, conditional),
#: read a claimed record (GetItem), record the result (UpdateItem), release a claim after a
#: failure (DeleteItem). grant_read_write_data would add Scan, Query and the batch calls,
#: which nothing here needs.
IDEMPOTENCY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)


class IdempotencyTable(Construct):
    """Partition key ``id``, TTL on ``expiration`` (``tables.retained_table`` otherwise).

    The records are what stops a redriven message from charging twice."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.table = retained_table(
            self,
            table_name=settings.table_name,
            partition_key=RecordAttribute.KEY,
            key=key,
            # The charge path's outbox: the ledger writer reads each stored result from
            # the stream (no extra write on the charge path).
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            # Powertools writes the expiry here; DynamoDB deletes the record after it.
            time_to_live_attribute=RecordAttribute.EXPIRY,
        )

    def grant_idempotency(self, grantee: iam.IGrantable) -> iam.Grant:
        """The four item calls Powertools makes, on this table only, and the key they need."""
        grant = self.table.grant(grantee, *IDEMPOTENCY_ACTIONS)
        self._key.grant(grantee, *TABLE_KMS_ACTIONS)
        return grant
