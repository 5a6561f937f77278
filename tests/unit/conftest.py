"""Unit fixtures: the function's dependencies on in-memory fakes (no client, no server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from chargeq.settings import PipelineSettings
from chargeq_local.context import LocalLambdaContext
from charges.config import FunctionConfig
from charges.dependencies import Dependencies
from charges.handler import handle_batch
from tests.unit.fakes import FakeDeadLetters, FakeGateway, InMemoryPersistenceLayer

#: What the partial batch response names: the IDs of the records SQS should deliver again.
Invoke = Callable[[dict[str, Any]], list[str]]


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings(stage="unit", max_receive_count=3, soft_decline_attempts=2)


@pytest.fixture
def config(settings: PipelineSettings) -> FunctionConfig:
    return settings.function_config(
        table_name="unused-table", dlq_url="unused-dlq", secret_name="unused-secret"
    )


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def store() -> InMemoryPersistenceLayer:
    return InMemoryPersistenceLayer()


@pytest.fixture
def dead_letters() -> FakeDeadLetters:
    return FakeDeadLetters()


@pytest.fixture
def deps(
    config: FunctionConfig,
    gateway: FakeGateway,
    store: InMemoryPersistenceLayer,
    dead_letters: FakeDeadLetters,
) -> Dependencies:
    return Dependencies.of(
        config, gateway=lambda: gateway, persistence=store, dead_letters=dead_letters
    )


@pytest.fixture
def invoke(deps: Dependencies) -> Invoke:
    """Run the handler's batch logic on an event; return the IDs of the failed records."""

    def run(event: dict[str, Any]) -> list[str]:
        context = cast(LambdaContext, LocalLambdaContext(timeout_seconds=30))
        response = handle_batch(event, context, deps)
        return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]

    return run
