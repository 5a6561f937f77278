"""The chargeq stack: the path of a message, one construct per step, wired with grants.

producer → queue → function → idempotency table → Stripe (key in Secrets Manager)
→ outcome metrics → alarms → on-call; poison → DLQ.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from chargeq.settings import OutputName, PipelineSettings
from infra.constructs.alarm_topic import AlarmTopic
from infra.constructs.charge_function import ChargeFunction
from infra.constructs.encryption import PipelineKey
from infra.constructs.idempotency_table import IdempotencyTable
from infra.constructs.monitoring import PipelineMonitoring
from infra.constructs.outcomes import Outcomes
from infra.constructs.queues import ChargeQueues
from infra.constructs.stripe_secret import StripeSecret


class ChargeQueueStack(Stack):
    """Everything one stage of the pipeline needs, named and sized by ``settings``.

    The construct ID and the CloudFormation stack name are both ``settings.stack_name``.
    """

    def __init__(
        self, scope: Construct, *, settings: PipelineSettings, env: Environment | None = None
    ) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            stack_name=settings.stack_name,
            env=env,
            description=f"chargeq ({settings.stage}): SQS charge requests charged once via Stripe",
        )
        self.settings = settings
        key = PipelineKey(self, "Encryption", settings=settings).key
        self.queues = ChargeQueues(self, "Queues", settings=settings, key=key)
        self.idempotency = IdempotencyTable(self, "Idempotency", settings=settings, key=key)
        self.stripe_secret = StripeSecret(self, "StripeSecret", settings=settings, key=key)
        self.outcomes = Outcomes(
            self, "Outcomes", settings=settings, key=key, idempotency_table=self.idempotency.table
        )
        self.charge = ChargeFunction(
            self,
            "Charge",
            settings=settings,
            key=key,
            queue=self.queues.queue,
            environment=settings.function_config(
                table_name=self.idempotency.table.table_name,
                dlq_url=self.queues.dead_letter_queue.queue_url,
                secret_name=self.stripe_secret.secret_name,
                ledger_table_name=self.outcomes.ledger.table.table_name,
            ).to_environment(),
        )
        function = self.charge.function
        # The event source already granted consume on the queue (with kms:Decrypt).
        self.queues.grant_dead_letter(function)
        self.idempotency.grant_idempotency(function)
        self.stripe_secret.grant_read(function)
        # Dead-lettering records the request in the ledger first (one UpdateItem).
        self.outcomes.ledger.grant_transitions(function)
        # No cloudwatch:PutMetricData: Powertools writes metrics as EMF log lines, which
        # CloudWatch turns into metrics from the log group the function already writes.

        self.alarm_topic = AlarmTopic(self, "AlarmTopic", settings=settings, key=key)
        self.monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            settings=settings,
            queue=self.queues.queue,
            dead_letter_queue=self.queues.dead_letter_queue,
            function=function,
            table=self.idempotency.table,
            topic=self.alarm_topic.topic,
        )
        self.monitoring.monitor_outcomes(
            ledger_writer=self.outcomes.writer.function,
            publisher=self.outcomes.publisher.function,
            webhooks=self.outcomes.webhooks.function,
            pending_check=self.outcomes.pending_check.function,
            stream_failures=self.outcomes.stream_failures,
        )
        self._outputs()

    def grant_send(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a producer send charge requests (send-only, plus the queue key's data key)."""
        return self.queues.grant_send(grantee)

    def _outputs(self) -> None:
        # Output keys are read by the chargeq CLI (chargeq.deployment); keep them in step.
        outputs = {
            OutputName.QUEUE_URL: self.queues.queue.queue_url,
            OutputName.DLQ_URL: self.queues.dead_letter_queue.queue_url,
            OutputName.TABLE_NAME: self.idempotency.table.table_name,
            OutputName.FUNCTION_NAME: self.charge.function.function_name,
            OutputName.SECRET_NAME: self.stripe_secret.secret_name,
            OutputName.ALARM_TOPIC_ARN: self.alarm_topic.topic.topic_arn,
            OutputName.DASHBOARD_NAME: self.monitoring.dashboard_name,
            **self.outcomes.outputs,
        }
        for key, value in outputs.items():
            CfnOutput(self, key, key=key, value=value)
