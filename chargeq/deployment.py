"""Find a pipeline's resources: from a deployed stack's outputs, or by the settings' names.

Nobody copies queue URLs by hand: ``--stack-name`` reads the CloudFormation outputs of a
deployed stack; without it the names come from ``PipelineSettings`` (``cdk.json`` and
``--stage``), which is also how the local stack on moto is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chargeq.settings import OutputName, PipelineSettings


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The ARN of the queue at ``queue_url`` (redrive policies and move tasks want ARNs)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


class DeploymentNotFound(Exception):
    """The stack or one of its resources does not exist where we looked."""


@dataclass(frozen=True)
class Deployment:
    """A boto3 session and the names of the pipeline's resources."""

    session: boto3.Session
    endpoint_url: str | None
    queue_url: str
    dlq_url: str
    table_name: str

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    @classmethod
    def locate(
        cls,
        *,
        stack_name: str | None = None,
        stage: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        cdk_json: Path | str = "cdk.json",
    ) -> Deployment:
        session = boto3.Session(profile_name=profile, region_name=region)
        if session.region_name is None:
            raise DeploymentNotFound("no AWS region: pass --region or set AWS_REGION")
        try:
            if stack_name:
                return cls._from_stack(session, endpoint_url, stack_name)
            return cls._from_settings(session, endpoint_url, load_settings(cdk_json, stage))
        except (ClientError, BotoCoreError) as error:
            raise DeploymentNotFound(str(error)) from error

    @classmethod
    def _from_stack(
        cls, session: boto3.Session, endpoint_url: str | None, stack_name: str
    ) -> Deployment:
        cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
        missing = [
            key
            for key in (OutputName.QUEUE_URL, OutputName.DLQ_URL, OutputName.TABLE_NAME)
            if key not in outputs
        ]
        if missing:
            raise DeploymentNotFound(f"stack {stack_name} has no output(s) {', '.join(missing)}")
        return cls(
            session=session,
            endpoint_url=endpoint_url,
            queue_url=outputs[OutputName.QUEUE_URL],
            dlq_url=outputs[OutputName.DLQ_URL],
            table_name=outputs[OutputName.TABLE_NAME],
        )

    @classmethod
    def _from_settings(
        cls, session: boto3.Session, endpoint_url: str | None, settings: PipelineSettings
    ) -> Deployment:
        sqs = session.client("sqs", endpoint_url=endpoint_url)
        try:
            queue_url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
            dlq_url = sqs.get_queue_url(QueueName=settings.dlq_name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            raise DeploymentNotFound(
                f"no queue {settings.queue_name!r} here; deploy the stack, or pass --stack-name"
            ) from None
        return cls(
            session=session,
            endpoint_url=endpoint_url,
            queue_url=queue_url,
            dlq_url=dlq_url,
            table_name=settings.table_name,
        )


def load_settings(cdk_json: Path | str = "cdk.json", stage: str | None = None) -> PipelineSettings:
    """Settings from cdk.json (when present) with the stage overridden."""
    path = Path(cdk_json)
    settings = PipelineSettings.from_cdk_json(path) if path.exists() else PipelineSettings()
    if stage:
        settings = PipelineSettings.model_validate({**settings.model_dump(), "stage": stage})
    return settings
