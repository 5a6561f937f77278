"""Infrastructure fixtures: the stack synthesized once per variant, bundling skipped.

Each variant is built the way ``cdk synth`` builds it: ``app.build`` on an App whose
context is cdk.json's, plus ``chargeq:`` overrides given as strings, as ``-c`` gives them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

import app as cdk_app
from chargeq.settings import PipelineSettings
from infra import ChargeQueueStack

ROOT = Path(__file__).resolve().parents[2]

#: Settings of the "configured" variant: every optional feature on, numbers moved off
#: their defaults so a test can tell the settings were read.
CONFIGURED = {
    "chargeq:stage": "prod",
    "chargeq:max_receive_count": "7",
    "chargeq:batch_size": "5",
    "chargeq:max_concurrency": "4",
    "chargeq:records_in_flight": "5",
    "chargeq:function_timeout_seconds": "60",
    "chargeq:stripe_secret_name": "payments/stripe-live",
    "chargeq:alarm_email": "oncall@example.com",
}

StackBuilder = Callable[..., ChargeQueueStack]


def app_context(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """cdk.json's context, bundling skipped, with ``overrides`` on top."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": [], **(overrides or {})}


def build_stack(
    overrides: dict[str, Any] | None = None,
    *,
    extra: Callable[[ChargeQueueStack], None] | None = None,
) -> ChargeQueueStack:
    """A fresh app and stack from ``app.build``; ``extra`` may add to the stack before synth."""
    stack = cdk_app.build(App(context=app_context(overrides)))
    if extra:
        extra(stack)
    return stack


@pytest.fixture(scope="session")
def stack() -> ChargeQueueStack:
    """The stack with every setting at its default."""
    return build_stack()


@pytest.fixture(scope="session")
def template(stack: ChargeQueueStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def settings(stack: ChargeQueueStack) -> PipelineSettings:
    return stack.settings


@pytest.fixture(scope="session")
def configured_stack() -> ChargeQueueStack:
    """The stack with ``CONFIGURED``: imported secret, alarm email, other numbers."""
    return build_stack(CONFIGURED)


@pytest.fixture(scope="session")
def configured_template(configured_stack: ChargeQueueStack) -> Template:
    return Template.from_stack(configured_stack)


@pytest.fixture(scope="session")
def producer_template() -> Template:
    """The default stack plus a producer role given ``grant_send``."""

    def add_producer(stack: ChargeQueueStack) -> None:
        producer = iam.Role(
            stack, "Producer", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        )
        stack.grant_send(producer)

    return Template.from_stack(build_stack(extra=add_producer))
