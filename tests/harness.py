"""The pipeline under test, wired to moto and the Stripe emulator (integration and the
in-process fault tests build it through their fixtures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from chargeq.settings import PipelineSettings
from chargeq_local.context import LocalLambdaContext
from chargeq_local.event_source import BatchReport, EventSource
from chargeq_local.resources import Resources, provision
from charges.config import FunctionConfig
from charges.dependencies import Dependencies, GatewayWrapper
from charges.handler import handle_batch
from stripe_emulator.fixtures import TestCustomer, create_customer
from tests.samples import charge_body

API_KEY = "sk_test_unit"


@dataclass
class Pipeline:
    """The function wired to moto and the emulator, driven like Lambda's event source."""

    settings: PipelineSettings
    resources: Resources
    deps: Dependencies
    sqs: Any
    dynamodb: Any
    source: EventSource
    #: A customer made through the Stripe API with ``pm_card_visa`` attached as its
    #: invoice default (a customer saved with PaymentMethods only, as on Stripe today).
    customer: TestCustomer
    #: The Lambda timeout the handler sees; in-progress records expire with it.
    function_timeout_seconds: float = 30.0

    def charge_body(self, request_id: str, **overrides: Any) -> dict[str, Any]:
        """A valid charge request body for :attr:`customer` and its saved card."""
        mine = {"customer": self.customer.id, "payment_method": self.customer.payment_method}
        return charge_body(request_id, **(mine | overrides))

    def send(self, *bodies: str | dict[str, Any]) -> None:
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            self.sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=text)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        context = LocalLambdaContext(timeout_seconds=self.function_timeout_seconds)
        # LambdaContext is a concrete class, not a protocol: the local one has every
        # attribute Powertools reads, with a real deadline.
        return handle_batch(event, cast(LambdaContext, context), self.deps)

    def run_batch(self) -> BatchReport:
        """One invocation on what one receive gives (up to ten records, no batching
        window); failures become visible again at once."""
        return self.source.poll_once(self.invoke, retry_now=True)

    def drain(self, max_batches: int = 50) -> list[BatchReport]:
        """Invoke until the queue is empty (retries included)."""
        reports = []
        for _ in range(max_batches):
            report = self.run_batch()
            if not report.received:
                break
            reports.append(report)
        return reports

    def dead_letters(self) -> list[dict[str, Any]]:
        letters = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.resources.dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages"):
            for message in messages:
                letters.append(message)
                self.sqs.delete_message(
                    QueueUrl=self.resources.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return letters

    def dead_letter_reasons(self) -> list[str]:
        return sorted(
            message["MessageAttributes"]["chargeq-reason"]["StringValue"]
            for message in self.dead_letters()
        )

    def queue_depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


PipelineFactory = Callable[..., Pipeline]


def build_pipeline(
    session: boto3.Session,
    settings: PipelineSettings,
    stripe_url: str,
    stripe_api_key: str,
    *,
    wrap_gateway: GatewayWrapper | None = None,
) -> Pipeline:
    """Create the resources in moto (already mocked) and the function's dependencies.

    The function's AWS clients come from ``session``: botocore event hooks registered on
    it beforehand see their calls. ``wrap_gateway`` wraps the Stripe gateway (test seams of
    ``charges.dependencies``).
    """
    resources = provision(session, settings, stripe_api_key=stripe_api_key)
    config = resources.function_config(settings, stripe_url)
    # The function reads its settings back from the environment it is given.
    environment = config.model_copy(update={"stripe_timeout_seconds": 2.0}).to_environment()
    deps = Dependencies.build(
        FunctionConfig.from_environment(environment), session, wrap_gateway=wrap_gateway
    )
    sqs = session.client("sqs")
    return Pipeline(
        settings=settings,
        resources=resources,
        deps=deps,
        sqs=sqs,
        dynamodb=session.client("dynamodb"),
        source=EventSource(
            sqs, resources.queue_url, resources.queue_arn, batch_size=settings.batch_size
        ),
        # Made with the emulator's real key, whatever the secret holds.
        customer=create_customer(stripe_url, API_KEY),
    )
