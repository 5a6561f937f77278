"""The charge function: the pipeline's function block (``pipeline_function``), fed by the queue."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Annotations, Duration, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.constructs.pipeline_function import add_function

HANDLER = "charges.handler.lambda_handler"

NO_DLQ_REASON = (
    "A Lambda DLQ catches failed asynchronous invocations; this function is only invoked "
    "synchronously by the SQS event source, whose redrive policy and the function's own "
    "dead-lettering send failures to the SQS DLQ."
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
        parts = add_function(
            self,
            function_name=settings.function_name,
            description="Charges each SQS charge request through Stripe exactly once",
            handler=HANDLER,
            key=key,
            environment=environment,
            # The most the event source ever runs (its maximum concurrency), reserved: other
            # functions cannot starve the charges, and nothing can push the Stripe request
            # rate past what the settings allow.
            reserved_concurrency=settings.max_concurrency,
            no_dlq_reason=NO_DLQ_REASON,
            timeout=Duration.seconds(settings.function_timeout_seconds),
            memory_size=settings.function_memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
        )
        self.function, self.role, self.log_group = parts.function, parts.role, parts.log_group
        self.function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                # A batch is each container's rate-limit allowance (12 by default): on a
                # backlog a container sends a whole batch as its window turns over.
                batch_size=settings.batch_size,
                # On a backlog a batch fills at once; a lone request waits for the window
                # (AWS: up to 20 s on a very quiet queue, whatever the window).
                max_batching_window=Duration.seconds(settings.max_batching_window_seconds)
                if settings.max_batching_window_seconds
                else None,
                # Only the records the handler reports failed come back; the rest are deleted.
                report_batch_item_failures=True,
                # The lever that keeps the Stripe request rate under the account's limit.
                max_concurrency=settings.max_concurrency,
            )
        )
        if not settings.batches_fill_windows:
            Annotations.of(self).add_warning_v2(
                "chargeq:batch-size-splits-windows",
                f"batch_size ({settings.batch_size}) is not a multiple of each container's "
                f"Stripe allowance ({settings.container_allowance} requests per window, the "
                "whole part of stripe_rate_limit / max_concurrency): on a backlog a container "
                "leaves part of its share of the limit unused (README, Stripe's rate limits).",
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
