"""Fixtures shared by every kind of test: a sandboxed AWS environment for boto3."""

from __future__ import annotations

import os

# Set before any test module imports boto3 or Powertools: no real AWS account is ever
# touched, and metrics go to the log.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "chargeq-test",
        "POWERTOOLS_METRICS_NAMESPACE": "ChargeQueue",
    }
)
os.environ.pop("AWS_PROFILE", None)
