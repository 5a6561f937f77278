"""Cold start: the handler's import and initialisation, timed in fresh interpreters.

Three snippets, each in its own interpreter and timed from inside (interpreter start-up,
the same for all, is left out): the handler's imports and then its clients, ``import boto3,
stripe`` alone (the yardstick), and boto3 + stripe + the libraries the design
requires. They are interleaved so machine noise hits all three, and the medians are kept.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

from chargeq.settings import PipelineSettings
from chargeq_local.runner import LOCAL_AWS_ENVIRONMENT

#: Fresh interpreters per snippet when timing import and initialisation.
COLD_START_REPEATS = 7


@dataclass(frozen=True)
class ColdStart:
    """Median milliseconds to import and initialise the handler, and boto3 + stripe alone."""

    handler_ms: float
    #: The handler's imports alone, before its clients are built.
    import_ms: float
    baseline_ms: float
    repeats: int
    #: boto3, stripe and the libraries the design requires (pydantic, Powertools' batch,
    #: idempotency, parameters, logger and metrics): the floor for the handler's imports.
    libraries_ms: float = 0.0

    @property
    def ratio(self) -> float:
        return self.handler_ms / self.baseline_ms


#: Timed in a fresh interpreter: what a cold container does before its first record.
#: Each prints the seconds since it started after its imports, then after initialising.
_HANDLER_INIT = """
import charges.handler
from charges.config import FunctionConfig
from charges.dependencies import Dependencies
from charges.payments import StripeGateway
from charges.rate_limits import StripePacer
print(time.perf_counter() - _t)
config = FunctionConfig.from_environment()
Dependencies.build(config)
StripeGateway(
    "sk_test_bench",
    api_base="http://127.0.0.1:9",
    timeout_seconds=6.0,
    soft_decline_attempts=config.soft_decline_attempts,
    pacer=StripePacer(
        config.stripe_requests_per_second, config.stripe_endpoint_requests_per_second
    ),
)
"""
_BASELINE = "import boto3, stripe\nprint(time.perf_counter() - _t)\n"
#: What the design requires, imported in the handler's order (Powertools' batch before
#: pydantic: imported after it, batch would also load every parser model Powertools ships).
_LIBRARIES = """
import boto3, stripe
import aws_lambda_powertools.utilities.batch
import aws_lambda_powertools.utilities.idempotency.serialization.pydantic
import aws_lambda_powertools.utilities.parameters
from aws_lambda_powertools import Logger, Metrics
print(time.perf_counter() - _t)
"""
_TIMER = "import time\n_t = time.perf_counter()\n{body}print(time.perf_counter() - _t)\n"


def measure_cold_start(repeats: int = COLD_START_REPEATS) -> ColdStart:
    """Median import (+ initialisation) time of the handler, of boto3 + stripe alone, and of
    boto3 + stripe + the libraries the design requires.

    Each sample is a fresh interpreter, timed from inside so interpreter start-up (the
    same for all) is left out; they are interleaved so machine noise hits all of them.
    """
    environment = (
        dict(os.environ)
        | LOCAL_AWS_ENVIRONMENT
        | PipelineSettings()
        .function_config(
            table_name="bench",
            dlq_url="http://127.0.0.1:9/queue/dlq",
            secret_name="bench",  # noqa: S106 - a name, not a secret
        )
        .to_environment()
    )
    snippets = {"handler": _HANDLER_INIT, "baseline": _BASELINE, "libraries": _LIBRARIES}
    samples: dict[str, list[float]] = {label: [] for label in [*snippets, "import"]}
    for _ in range(repeats + 1):  # the first round warms the page cache and is dropped
        for label, body in snippets.items():
            output = subprocess.run(
                [sys.executable, "-c", _TIMER.format(body=body)],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
            imported, initialised = (float(line) * 1000 for line in output.split()[-2:])
            samples[label].append(initialised)
            if label == "handler":
                samples["import"].append(imported)
    return ColdStart(
        handler_ms=statistics.median(samples["handler"][1:]),
        import_ms=statistics.median(samples["import"][1:]),
        baseline_ms=statistics.median(samples["baseline"][1:]),
        libraries_ms=statistics.median(samples["libraries"][1:]),
        repeats=repeats,
    )
