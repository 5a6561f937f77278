"""Handler fixtures: moto in-process for AWS, the Stripe emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chargeq.settings import PipelineSettings
from stripe_emulator import StripeEmulator
from tests.harness import API_KEY, Pipeline, PipelineFactory, build_pipeline


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
    return PipelineSettings(stage="test", max_receive_count=3, soft_decline_attempts=2)


@pytest.fixture
def make_pipeline(stripe: StripeEmulator, settings: PipelineSettings) -> Iterator[PipelineFactory]:
    """Build the pipeline inside moto; ``stripe_api_key`` is what the secret holds, and
    ``session`` (a boto3 session with event hooks, say) what the function's clients use."""
    with mock_aws():

        def build(stripe_api_key: str = API_KEY, session: boto3.Session | None = None) -> Pipeline:
            session = session or boto3.Session(region_name="us-east-1")
            return build_pipeline(session, settings, stripe.url, stripe_api_key)

        yield build


@pytest.fixture
def pipeline(make_pipeline: PipelineFactory) -> Pipeline:
    return make_pipeline()


@pytest.fixture
def sqs() -> Iterator[Any]:
    """A plain SQS client inside moto (no pipeline)."""
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="requests")["QueueUrl"])
