"""The charge function: code bundled locally, its own role and log group, fed by the queue."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.bundling import function_code

#: The newest Python runtime in aws-cdk-lib 2.275; pip finds aarch64 wheels of every pinned
#: requirement for it (pydantic-core is the only compiled one).
RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Graviton: cheaper per GB-second, and the function waits on Stripe more than it computes.
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "charges.handler.lambda_handler"
#: Long enough to investigate a week-old incident; the idempotency table and Stripe keep
#: the durable record of every charge.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class ChargeFunction(Construct):
    """The Lambda function and its SQS event source with partial batch responses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        queue: sqs.IQueue,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{settings.function_name}",
            retention=LOG_RETENTION,
        )
        # Our own role instead of the default one, whose AWSLambdaBasicExecutionRole managed
        # policy may write to every log group in the account: this one writes to its own.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{settings.function_name}: charges requests from the queue",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=settings.function_name,
            description="Charges each SQS charge request through Stripe exactly once",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=function_code(RUNTIME, ARCHITECTURE),
            timeout=Duration.seconds(settings.function_timeout_seconds),
            memory_size=settings.function_memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            environment=environment,
            log_group=self.log_group,
            role=self.role,
        )
        self.log_group.grant_write(self.function)
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=settings.batch_size,
                # Only the records the handler reports failed come back; the rest are deleted.
                report_batch_item_failures=True,
                # The lever that keeps the Stripe request rate under the account's limit.
                max_concurrency=settings.max_concurrency,
            )
        )
        # Tracing.ACTIVE added the X-Ray statement to the role's default policy.
        default_policy = self.role.node.find_child("DefaultPolicy")
        Validations.of(default_policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="xray:PutTraceSegments and xray:PutTelemetryRecords support no "
                "resource-level permissions; AWS requires Resource '*' for them. Every other "
                "statement names its resource (checked by tests/infra).",
            )
        )
