"""Settings come from CDK context; a bad value stops synth with the settings' message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

import app as cdk_app
from chargeq.settings import SettingsError
from infra import ChargeQueueStack
from tests.infra.conftest import app_context

ROOT = Path(__file__).resolve().parents[2]


def test_settings_from_context_override(
    configured_stack: ChargeQueueStack, configured_template: Template
) -> None:
    # GIVEN -c style (string) overrides WHEN synthesized THEN the stack is built from them
    assert configured_stack.stack_name == "chargeq-prod"
    configured_template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "chargeq-prod-charge-requests",
            "VisibilityTimeout": 361,  # 6 x 60 s + the 1 s batching window
            "RedrivePolicy": {"maxReceiveCount": 7, "deadLetterTargetArn": Match.any_value()},
        },
    )
    configured_template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 5, "ScalingConfig": {"MaximumConcurrency": 4}},
    )
    configured_template.has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": "chargeq-prod-charge", "Timeout": 60}
    )


def test_bad_context_fails_synth_with_clear_message(tmp_path: Path) -> None:
    # GIVEN `cdk synth -c chargeq:max_receive_count=0`: the CLI hands the app its context
    # in CDK_CONTEXT_JSON.
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(app_context({"chargeq:max_receive_count": "0"})),
        "CDK_OUTDIR": str(tmp_path),
    }
    # WHEN the app runs
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    # THEN it exits non-zero, names the key and the rule, and wrote no template
    assert result.returncode == 1
    assert "chargeq:max_receive_count" in result.stderr
    assert "greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_unknown_context_key_fails_synth() -> None:
    with pytest.raises(SettingsError, match="unknown context key 'chargeq:max_recieve_count'"):
        cdk_app.build(App(context=app_context({"chargeq:max_recieve_count": "5"})))


def test_expiry_shorter_than_retention_fails_synth() -> None:
    overrides = {"chargeq:idempotency_expiry_days": "21"}
    with pytest.raises(SettingsError, match=r"idempotency_expiry_days \(21\) is shorter"):
        cdk_app.build(App(context=app_context(overrides)))


def test_dlq_retention_not_longer_than_queue_retention_fails_synth() -> None:
    overrides = {"chargeq:queue_retention_days": "7", "chargeq:dlq_retention_days": "7"}
    with pytest.raises(SettingsError, match="dlq_retention_days must be longer"):
        cdk_app.build(App(context=app_context(overrides)))


def test_rate_limit_the_concurrency_cannot_pace_fails_synth():
    # GIVEN `cdk synth -c chargeq:max_concurrency=30` against the sandbox limit (25/s)
    overrides = {"chargeq:max_concurrency": "30"}
    # WHEN the app is built THEN synth stops with the settings' message
    with pytest.raises(SettingsError, match="cannot pace"):
        cdk_app.build(App(context=app_context(overrides)))
