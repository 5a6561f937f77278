"""The stack as the CLI sees it: its name and outputs."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Template

from chargeq.settings import OutputName, PipelineSettings
from infra import ChargeQueueStack

ROOT = Path(__file__).resolve().parents[2]


def test_stack_name_comes_from_settings(stack: ChargeQueueStack) -> None:
    assert stack.stack_name == stack.settings.stack_name == "chargeq-dev"


def test_outputs_are_the_names_the_cli_reads(
    template: Template, settings: PipelineSettings
) -> None:
    outputs = template.to_json()["Outputs"]
    expected = {
        value
        for name, value in vars(OutputName).items()
        if not name.startswith("_") and isinstance(value, str)
    }
    assert set(outputs) == expected
    assert outputs[OutputName.SECRET_NAME]["Value"] == settings.secret_name
    assert outputs[OutputName.DASHBOARD_NAME]["Value"] == settings.resource_prefix


def test_cdk_json_runs_the_app_with_the_project_venv() -> None:
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    assert cdk_json["app"] == ".venv/bin/python app.py"
