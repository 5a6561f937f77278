"""Find a pipeline's resources: from a deployed stack's outputs, by the settings' names, or
from the running ``chargeq local``.

Nobody copies queue URLs by hand: ``--stack-name`` reads the CloudFormation outputs of a
deployed stack; without it the names come from ``PipelineSettings`` (the project's
``cdk.json`` and ``--stage``); ``--local`` reads the state file ``chargeq local`` wrote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chargeq.failures import REGION_FIX, Unreachable, UsageError
from chargeq.local_state import LOCAL_CREDENTIALS, LocalStackState
from chargeq.project import cdk_json_path
from chargeq.settings import SERVICE_NAME, OutputName, PipelineSettings, SettingsError


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The ARN of the queue at ``queue_url`` (redrive policies and move tasks want ARNs)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


class DeploymentNotFound(Unreachable):
    """The stack or one of its resources does not exist where we looked (exit status 3)."""


@dataclass(frozen=True)
class Deployment:
    """A boto3 session and the names of the pipeline's resources."""

    session: boto3.Session
    endpoint_url: str | None
    queue_url: str
    dlq_url: str
    table_name: str
    #: The charges ledger and the log group every outcome event is delivered to.
    ledger_table_name: str
    outcome_log_group_name: str
    local: bool = False

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
        cdk_json: Path | None = None,
    ) -> Deployment:
        """Find the pipeline in AWS (or at ``endpoint_url``).

        Raises ``UsageError`` for a missing region or unknown profile and
        ``DeploymentNotFound`` when the stack or queue is not there; other boto3 errors
        propagate for ``chargeq.failures.explain_aws``.
        """
        session = boto3.Session(profile_name=profile, region_name=region or _region_from_env())
        if session.region_name is None:
            raise UsageError(f"no AWS region: {REGION_FIX}")
        if stack_name:
            return cls._from_stack(session, endpoint_url, stack_name)
        return cls._from_settings(session, endpoint_url, load_settings(cdk_json, stage))

    @classmethod
    def from_local(cls, state: LocalStackState) -> Deployment:
        """The stack ``chargeq local`` runs, with the fake credentials moto accepts; the
        ledger and the outcome log are named by its stage, as the local runtime names them."""
        session = boto3.Session(region_name=state.region, **LOCAL_CREDENTIALS)
        names = PipelineSettings(stage=state.stage)
        return cls(
            session=session,
            endpoint_url=state.aws_endpoint_url,
            queue_url=state.queue_url,
            dlq_url=state.dlq_url,
            table_name=state.table_name,
            ledger_table_name=names.ledger_table_name,
            outcome_log_group_name=names.outcome_log_group_name,
            local=True,
        )

    @classmethod
    def _from_stack(
        cls, session: boto3.Session, endpoint_url: str | None, stack_name: str
    ) -> Deployment:
        cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if "does not exist" not in str(error.response.get("Error", {}).get("Message", "")):
                raise
            raise DeploymentNotFound(
                f"no stack {stack_name!r} in {session.region_name}: check --stack-name and "
                "--region (the stack's name is chargeq-STAGE, e.g. chargeq-dev)"
            ) from None
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
        missing = [
            key
            for key in (OutputName.QUEUE_URL, OutputName.DLQ_URL, OutputName.TABLE_NAME)
            if key not in outputs
        ]
        if missing:
            raise DeploymentNotFound(
                f"stack {stack_name} has no output(s) {', '.join(missing)}: is it a chargeq "
                "stack, fully deployed? ('npx cdk deploy' creates them)"
            )
        # A stack deployed before the outcomes (issue 15) has neither output: its stage's
        # names are the ones it would have (reads then answer "not found", not a crash).
        names = PipelineSettings(stage=_stage_of(stack_name))
        return cls(
            session=session,
            endpoint_url=endpoint_url,
            queue_url=outputs[OutputName.QUEUE_URL],
            dlq_url=outputs[OutputName.DLQ_URL],
            table_name=outputs[OutputName.TABLE_NAME],
            ledger_table_name=outputs.get(OutputName.LEDGER_TABLE_NAME, names.ledger_table_name),
            outcome_log_group_name=outputs.get(
                OutputName.OUTCOME_LOG_GROUP_NAME, names.outcome_log_group_name
            ),
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
            where = endpoint_url or session.region_name
            raise DeploymentNotFound(
                f"no queue {settings.queue_name!r} at {where} (stage {settings.stage!r}, "
                f"settings from {_settings_source()}): deploy the stack, pass --stack-name "
                "or --stage, or start 'chargeq local' and use --local"
            ) from None
        return cls(
            session=session,
            endpoint_url=endpoint_url,
            queue_url=queue_url,
            dlq_url=dlq_url,
            table_name=settings.table_name,
            ledger_table_name=settings.ledger_table_name,
            outcome_log_group_name=settings.outcome_log_group_name,
        )


def _stage_of(stack_name: str) -> str:
    """The stage in a stack's name (``chargeq-<stage>``), else the default stage."""
    stage = stack_name.removeprefix(f"{SERVICE_NAME}-")
    try:
        return PipelineSettings(stage=stage).stage
    except ValueError:
        return PipelineSettings().stage


def _region_from_env() -> str | None:
    """``AWS_REGION``, which the AWS SDKs and CLI v2 read ahead of ``AWS_DEFAULT_REGION``
    (docs.aws.amazon.com/sdkref/latest/guide/feature-region.html); the installed boto3 reads
    only ``AWS_DEFAULT_REGION`` and the profile, which apply when this returns None."""
    return os.environ.get("AWS_REGION") or None


def _settings_source() -> str:
    path = cdk_json_path()
    return str(path) if path else "the defaults (no cdk.json found)"


def load_settings(cdk_json: Path | None = None, stage: str | None = None) -> PipelineSettings:
    """Settings from the project's ``cdk.json`` (found wherever the command runs from; the
    defaults when there is none) with the stage overridden.

    Raises ``UsageError`` naming the file and the setting when a value is invalid.
    """
    path = cdk_json or cdk_json_path()
    context: dict[str, Any] = {}
    if path is not None and path.is_file():
        try:
            context = json.loads(path.read_text()).get("context", {})
        except ValueError as error:
            raise UsageError(f"{path} is not valid JSON ({error}): fix it") from None
    if stage:
        context = {**context, "chargeq:stage": stage}
    try:
        return PipelineSettings.from_context(context)
    except SettingsError as error:
        if stage and "chargeq:stage" in str(error):
            raise UsageError(
                f"--stage {stage!r} is not a stage name: lower-case letters, digits and '-', "
                "starting with a letter, at most 20 (e.g. dev or prod)"
            ) from None
        head, *problems = str(error).splitlines()
        details = "; ".join(problem.strip() for problem in problems)
        raise UsageError(
            f"{head.rstrip(':')} in {path or 'the defaults'}: {details}: fix the value"
        ) from None
