"""A function of the pipeline beside the charge function: the shared asset, its own role
and encrypted log group, and the charge function's runtime and architecture."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.bundling import function_code
from infra.constructs.charge_function import (
    ARCHITECTURE,
    CHECKOV_SKIPS,
    RUNTIME,
    encrypted_log_group,
)

#: The charge function's VPC skip holds for every function (AWS APIs and Stripe only).
NO_VPC = next(skip for skip in CHECKOV_SKIPS if skip["id"] == "CKV_AWS_117")


class PipelineFunction(Construct):
    """``handler`` in the shared asset, named ``function_name``, with ``environment``."""

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
        log_group_name = f"/aws/lambda/{function_name}"
        self.log_group = encrypted_log_group(
            self, key, log_group_name, sid=f"AllowCloudWatchLogsFor{construct_id}"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: {description}",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=function_code(RUNTIME, ARCHITECTURE),
            timeout=Duration.seconds(timeout_seconds),
            memory_size=256,
            environment=environment,
            environment_encryption=key,
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            role=self.role,
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="python3.13 like the charge function, whose asset it shares (see "
                "infra.constructs.charge_function.RUNTIME).",
            )
        )
        self.log_group.grant_write(self.function)
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata(
            "checkov", {"skip": [{"id": "CKV_AWS_116", "comment": no_dlq_reason}, NO_VPC]}
        )
