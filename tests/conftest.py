"""Fixtures shared by every kind of test: a sandboxed AWS environment for boto3."""

from __future__ import annotations

import os

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
