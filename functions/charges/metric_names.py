"""Names of the function's custom CloudWatch metrics.

The function emits them and the stack's alarms and dashboard read them
(``chargeq.settings`` re-exports this class), so both use this one definition.
"""


class MetricName:
    """Metric names; unit Count unless noted."""

    SUCCEEDED = "ChargeSucceeded"
    DECLINED = "ChargeDeclined"
    DUPLICATE_SUPPRESSED = "DuplicateSuppressed"
    TRANSIENT_FAILURE = "TransientFailure"
    POISON = "PoisonMessage"
    PAYLOAD_CONFLICT = "PayloadConflict"
    STRIPE_RATE_LIMITED = "StripeRateLimited"
    STRIPE_LATENCY = "StripeLatency"  # Milliseconds
