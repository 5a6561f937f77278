"""Fixtures shared by every kind of test: a sandboxed AWS environment for boto3, the
function's logs and metrics, and the sample events of ``tests/events/``."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chargeq_local.strict_sqs import PLUGIN_ENVIRONMENT

# Set before any test module imports boto3 or Powertools: no real AWS account is ever
# touched, metrics go to the log, and every SQS client (the function's own, the CLI's,
# in this process and in the processes it starts) refuses what SQS refuses.
os.environ.update(
    PLUGIN_ENVIRONMENT
    | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "chargeq-test",
        "POWERTOOLS_METRICS_NAMESPACE": "ChargeQueue",
    }
)
os.environ.pop("AWS_PROFILE", None)

# Imported after the environment is set: Powertools reads it when these are created.
from charges.observability import logger, metrics
from tests.samples import load_event

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def function_logs() -> Iterator[LogLines]:
    """The function's JSON log lines written during the test, read by calling it."""
    lines = io.StringIO()
    capture = logging.StreamHandler(lines)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    try:
        yield lambda: [json.loads(line) for line in lines.getvalue().splitlines()]
    finally:
        logging.getLogger(logger.service).removeHandler(capture)


@pytest.fixture
def counted() -> Iterator[Callable[[str], int]]:
    """How many times the function counted a metric during the test (Count metrics)."""
    metrics.clear_metrics()

    def total(name: str) -> int:
        return int(sum(metrics.metric_set.get(name, {}).get("Value", [])))

    yield total
    metrics.clear_metrics()


@pytest.fixture
def redriven_event() -> dict[str, Any]:
    """``tests/events/redriven.json``: a request redriven from the DLQ by the redrive task."""
    return load_event("redriven")


@pytest.fixture
def dead_lettered_event() -> dict[str, Any]:
    """``tests/events/dead_lettered.json``: the same request as it sat in the DLQ."""
    return load_event("dead_lettered")
