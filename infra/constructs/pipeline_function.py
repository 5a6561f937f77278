"""A function of the pipeline: the shared asset, its own role, and its own encrypted log group.

Every function (the charge function and the outcome functions) is built by
``add_function``: the same runtime, architecture, bundle, key and logging; they differ by
handler, sizing and environment. ``PipelineFunction`` is the construct for the functions
beside the charge function; ``ChargeFunction`` calls ``add_function`` in its own scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import function_code
from infra.checkov import skip_checks

#: Python 3.13: supported by Lambda until 30 June 2029, and the newest version the
#: project's machines have (through pyenv), so the bundle they build ships bytecode without
#: a download (infra.interpreters). 3.11, the machines' default, reached its Lambda
#: deprecation on 30 June 2026 (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
#: pip finds aarch64 wheels of every pinned requirement for it (pydantic-core is the only
#: compiled one).
RUNTIME = lambda_.Runtime.PYTHON_3_13
#: Graviton: cheaper per GB-second, and the functions wait on Stripe and AWS more than
#: they compute.
ARCHITECTURE = lambda_.Architecture.ARM_64
#: Long enough to investigate a week-old incident; the tables and Stripe keep the durable
#: record of every charge.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

#: What CloudWatch Logs may do with the key for one log group, as AWS documents it:
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_KMS_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)

RUNTIME_REASON = (
    "python3.13, not the newest python3.14: Lambda supports it until 30 June 2029, and the "
    "project's machines have a 3.13 interpreter, so the bundle they build carries bytecode "
    "(a 2.4x faster handler import on a cold start) without downloading one (see RUNTIME)."
)

#: No function needs a VPC (checkov skip, template metadata).
NO_VPC = (
    "CKV_AWS_117",
    "The functions reach Stripe on the internet and AWS APIs only; a VPC would "
    "add NAT gateways and endpoints (cost and cold-start time) and protect no resource of "
    "their own.",
)


@dataclass(frozen=True)
class FunctionParts:
    """What ``add_function`` made."""

    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup


def add_function(
    scope: Construct,
    *,
    function_name: str,
    description: str,
    handler: str,
    key: kms.IKey,
    environment: dict[str, str],
    reserved_concurrency: int,
    no_dlq_reason: str,
    timeout: Duration,
    memory_size: int = 256,
    tracing: lambda_.Tracing | None = None,
) -> FunctionParts:
    """``handler`` in the shared asset as ``function_name``, in ``scope`` (children
    ``LogGroup``, ``Role``, ``Function``), with reserved concurrency, the environment
    encrypted under ``key``, and checkov's Lambda-DLQ check answered by ``no_dlq_reason``."""
    # Records name customers and amounts in their log lines: under the pipeline's key,
    # which CloudWatch Logs may use for this log group only.
    log_group = encrypted_log_group(
        scope, key, f"/aws/lambda/{function_name}", sid=f"AllowCloudWatchLogsFor{scope.node.id}"
    )
    # Our own role instead of the default one, whose AWSLambdaBasicExecutionRole managed
    # policy may write to every log group in the account: this one writes to its own.
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"{function_name}: {description}",
    )
    function = lambda_.Function(
        scope,
        "Function",
        function_name=function_name,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=function_code(RUNTIME, ARCHITECTURE),
        timeout=timeout,
        memory_size=memory_size,
        tracing=tracing,
        environment=environment,
        # Names and limits only (no secret: tests/infra holds it), but under the
        # pipeline's key like everything else.
        environment_encryption=key,
        reserved_concurrent_executions=reserved_concurrency,
        log_group=log_group,
        role=role,
    )
    Validations.of(function).acknowledge(
        Acknowledgment(id="AwsSolutions-L1", reason=RUNTIME_REASON)
    )
    log_group.grant_write(function)
    skip_checks(function, ("CKV_AWS_116", no_dlq_reason), NO_VPC)
    return FunctionParts(function=function, role=role, log_group=log_group)


class PipelineFunction(Construct):
    """A function beside the charge function: ``add_function`` in a construct of its own."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        description: str,
        handler: str,
        key: kms.IKey,
        environment: dict[str, str],
        reserved_concurrency: int,
        no_dlq_reason: str,
        timeout_seconds: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        parts = add_function(
            self,
            function_name=function_name,
            description=description,
            handler=handler,
            key=key,
            environment=environment,
            reserved_concurrency=reserved_concurrency,
            no_dlq_reason=no_dlq_reason,
            timeout=Duration.seconds(timeout_seconds),
        )
        self.function = parts.function
        self.role = parts.role
        self.log_group = parts.log_group


def encrypted_log_group(
    scope: Construct,
    key: kms.IKey,
    log_group_name: str,
    *,
    sid: str,
    retention: logs.RetentionDays = LOG_RETENTION,
    construct_id: str = "LogGroup",
) -> logs.LogGroup:
    """A log group under ``key``, which CloudWatch Logs may use for this log group only
    (the key policy's statement ``sid``, conditioned on the log group's ARN)."""
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
        construct_id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=key,
    )
