"""Handler fixtures: moto in-process for AWS, the Stripe emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from chargeq.emulator import StripeEmulator
from moto import mock_aws

from chargeq.local.event_source import EventSource
from chargeq.local.resources import provision
from chargeq.settings import PipelineSettings
from charges.config import FunctionConfig
from charges.dependencies import Dependencies
from tests.harness import API_KEY, Pipeline, PipelineFactory


@pytest.fixture(scope="session")
def emulator() -> Iterator[StripeEmulator]:
    with StripeEmulator(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def stripe(emulator: StripeEmulator) -> StripeEmulator:
    emulator.reset()
    return emulator


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings(stage="test", max_receive_count=3)


@pytest.fixture
def make_pipeline(stripe: StripeEmulator, settings: PipelineSettings) -> Iterator[PipelineFactory]:
    """Build the pipeline inside moto; ``stripe_api_key`` is what the secret holds."""
    with mock_aws():

        def build(stripe_api_key: str = API_KEY) -> Pipeline:
            session = boto3.Session(region_name="us-east-1")
            resources = provision(session, settings, stripe_api_key=stripe_api_key)
            environment = resources.function_environment(settings) | {
                "STRIPE_API_BASE": stripe.url,
                "STRIPE_TIMEOUT_SECONDS": "2",
            }
            deps = Dependencies.build(FunctionConfig.from_environment(environment), session)
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
            )

        yield build


@pytest.fixture
def pipeline(make_pipeline: PipelineFactory) -> Pipeline:
    return make_pipeline()
