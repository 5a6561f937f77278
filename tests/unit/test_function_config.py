"""The function's settings travel through its environment and come back unchanged."""

from __future__ import annotations

import pytest

from chargeq.settings import PipelineSettings
from charges.config import ConfigurationError, FunctionConfig


def deployed_config() -> FunctionConfig:
    return PipelineSettings(currencies=("usd", "eur")).function_config(
        table_name="table", dlq_url="https://sqs.example/dlq", secret_name="secret"
    )


def test_to_environment_is_the_inverse_of_from_environment() -> None:
    # GIVEN the config a stack writes WHEN it goes through the environment and back
    config = deployed_config()
    # THEN nothing changed on the way
    assert FunctionConfig.from_environment(config.to_environment()) == config


def test_every_environment_value_is_a_string() -> None:
    assert all(isinstance(value, str) for value in deployed_config().to_environment().values())


@pytest.mark.parametrize("missing", sorted(deployed_config().to_environment()))
def test_a_missing_setting_fails_at_init_naming_it(missing: str) -> None:
    # GIVEN an environment without one variable (no silent default inside the function)
    environment = deployed_config().to_environment()
    del environment[missing]
    # WHEN the function reads it THEN it refuses, naming the variable
    with pytest.raises(ConfigurationError, match=missing):
        FunctionConfig.from_environment(environment)


def test_a_malformed_setting_fails_at_init_naming_it() -> None:
    environment = deployed_config().to_environment() | {"RECORDS_IN_FLIGHT": "eleven"}
    with pytest.raises(ConfigurationError, match="RECORDS_IN_FLIGHT"):
        FunctionConfig.from_environment(environment)
