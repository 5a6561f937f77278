"""The pipeline's customer-managed KMS key: queue, DLQ, idempotency table and alarm topic.

Why one customer-managed key rather than SSE-SQS and AWS-managed keys:

- The alarm topic needs one regardless: CloudWatch cannot publish to a topic encrypted with
  the AWS-managed ``aws/sns`` key (its policy cannot grant ``cloudwatch.amazonaws.com``), so
  the notification would be dropped silently.
- Charge requests name customers, payment methods and amounts. With our own key every
  decrypt is a CloudTrail event, access can be cut off in the key policy alone, and the key
  rotates yearly.
- One key for all four resources keeps the grants readable: whoever touches a resource
  gets the one or two KMS actions that resource needs on this key, next to its grant.

The cost is a KMS call per data key (SQS reuses one for five minutes, DynamoDB caches its
table key), and producers need ``kms:GenerateDataKey`` as well as ``sqs:SendMessage``,
which ``ChargeQueues.grant_send`` gives them.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from chargeq.settings import PipelineSettings


class PipelineKey(Construct):
    """A symmetric key with yearly rotation, retained with the data it protects."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: PipelineSettings) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{settings.resource_prefix}",
            description=(
                f"{settings.resource_prefix}: charge requests, dead letters, idempotency "
                "records and alarm notifications at rest"
            ),
            enable_key_rotation=True,
            # The retained table and any retained messages stay readable after a teardown.
            removal_policy=RemovalPolicy.RETAIN,
        )
