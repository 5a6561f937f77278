"""The charge function: code bundled locally, its own role and log group, fed by the queue."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.bundling import function_code

#: Python 3.13: supported by Lambda until 30 June 2029, and the newest version the
#: project's machines have (through pyenv), so the bundle they build ships bytecode without
#: a download (infra.interpreters). 3.11, the machines' default, reached its Lambda
#: deprecation on 30 June 2026 (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
#: pip finds aarch64 wheels of every pinned requirement for it (pydantic-core is the only
#: compiled one).
RUNTIME = lambda_.Runtime.PYTHON_3_13
#: Graviton: cheaper per GB-second, and the function waits on Stripe more than it computes.
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "charges.handler.lambda_handler"
#: Long enough to investigate a week-old incident; the idempotency table and Stripe keep
#: the durable record of every charge.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

#: What CloudWatch Logs may do with the key for this log group, as AWS documents it:
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_KMS_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)

#: checkov checks that do not apply to this function, with the reason (template metadata).
CHECKOV_SKIPS = (
    {
        "id": "CKV_AWS_116",
        "comment": "A Lambda DLQ catches failed asynchronous invocations; this function is "
        "only invoked synchronously by the SQS event source, whose redrive policy and the "
        "function's own dead-lettering send failures to the SQS DLQ.",
    },
    {
        "id": "CKV_AWS_117",
        "comment": "The function reaches Stripe on the internet and AWS APIs only; a VPC would "
        "add NAT gateways and endpoints (cost and cold-start time) and protect no resource "
        "of its own.",
    },
)


class ChargeFunction(Construct):
    """The Lambda function and its SQS event source with partial batch responses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        key: kms.IKey,
        queue: sqs.IQueue,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        log_group_name = f"/aws/lambda/{settings.function_name}"
        # Records name customers and amounts in their log lines: under the pipeline's key,
        # which CloudWatch Logs may use for this log group only.
        self.log_group = encrypted_log_group(
            self, key, log_group_name, sid="AllowCloudWatchLogsForTheChargeFunction"
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
            # Names and limits only (no secret: tests/infra holds it), but under the
            # pipeline's key like everything else; the role may already decrypt with it.
            environment_encryption=key,
            # The most the event source ever runs (its maximum concurrency), reserved: other
            # functions cannot starve the charges, and nothing can push the Stripe request
            # rate past what the settings allow.
            reserved_concurrent_executions=settings.max_concurrency,
            log_group=self.log_group,
            role=self.role,
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="python3.13, not the newest python3.14: Lambda supports it until 30 June "
                "2029, and the project's machines have a 3.13 interpreter, so the bundle they "
                "build carries bytecode (a 2.4x faster handler import on a cold start) without "
                "downloading one (see RUNTIME).",
            )
        )
        self.log_group.grant_write(self.function)
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("checkov", {"skip": list(CHECKOV_SKIPS)})
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


def encrypted_log_group(
    scope: Construct, key: kms.IKey, log_group_name: str, *, sid: str
) -> logs.LogGroup:
    """A function's log group under ``key``, which CloudWatch Logs may use for it only."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{Stack.of(scope).region}.amazonaws.com")],
            actions=list(LOGS_KMS_ACTIONS),
            resources=["*"],
            conditions={
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": Stack.of(scope).format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=log_group_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return logs.LogGroup(
        scope,
        "LogGroup",
        log_group_name=log_group_name,
        retention=LOG_RETENTION,
        encryption_key=key,
    )
