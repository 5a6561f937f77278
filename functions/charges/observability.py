"""Powertools Logger and Metrics for the function, configured from the environment.

These objects hold no clients or connections, so creating them at import is cheap and
safe; the service name and namespace come from ``POWERTOOLS_*`` variables set by the stack.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from charges.metric_names import MetricName

logger = Logger()
metrics = Metrics()

# Records are charged on several threads, and Powertools' add_metric reads, updates and
# writes back its metric set unlocked: two threads adding the same metric at once can lose
# one of the values (an alarm would count fewer declines than happened).
_metrics_lock = threading.Lock()


def count(name: str) -> None:
    """Add one to a Count metric of this invocation."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def record_stripe_latency(milliseconds: float) -> None:
    """Stripe round-trip time of one call, for the dashboard's latency percentiles."""
    with _metrics_lock:
        metrics.add_metric(
            name=MetricName.STRIPE_LATENCY,
            unit=MetricUnit.Milliseconds,
            value=round(milliseconds, 1),
        )
