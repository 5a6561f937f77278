"""The charge-request queue and its dead-letter queue, and who may use them."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chargeq.settings import PipelineSettings

#: What a producer needs: send (SendMessageBatch is authorised by sqs:SendMessage) and look
#: the queue up. No receive, delete, purge or attribute changes.
PRODUCER_SQS_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")

#: What a sender needs on the key of an SSE-KMS queue (SQS Developer Guide, "Key management").
SENDER_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


class ChargeQueues(Construct):
    """A standard queue whose redrive policy ends in a longer-lived DLQ, both KMS-encrypted."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=settings.dlq_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            # Longer than the queue's: a message keeps its enqueue time when dead-lettered.
            retention_period=Duration.seconds(settings.dlq_retention_seconds),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=settings.queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.seconds(settings.queue_retention_seconds),
            # AWS guidance: at least six times the function timeout plus the batching window,
            # so a batch being gathered or retried by the event source does not reappear
            # while it is still being processed.
            visibility_timeout=Duration.seconds(settings.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
        )

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a producer send charge requests: send-only on the queue, plus the KMS data key."""
        grant = self.queue.grant(grantee, *PRODUCER_SQS_ACTIONS)
        self._key.grant(grantee, *SENDER_KMS_ACTIONS)
        return grant

    def grant_dead_letter(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let the function put poison messages on the DLQ with their reason, and nothing else."""
        grant = self.dead_letter_queue.grant(grantee, "sqs:SendMessage")
        self._key.grant(grantee, *SENDER_KMS_ACTIONS)
        return grant
