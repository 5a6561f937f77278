"""Names of the function's custom CloudWatch metrics.

The function emits them and the stack's alarms and dashboard read them
(``chargeq.settings`` re-exports this class), so both use this one definition.
"""


class MetricName:
    """Metric names; unit Count unless noted."""

    SUCCEEDED = "ChargeSucceeded"
    DECLINED = "ChargeDeclined"
    #: A PaymentIntent left ``processing`` (bank debit): not a success until it settles.
    PENDING = "ChargePending"
    SOFT_DECLINE = "SoftDecline"
    DUPLICATE_SUPPRESSED = "DuplicateSuppressed"
    TRANSIENT_FAILURE = "TransientFailure"
    POISON = "PoisonMessage"
    PAYLOAD_CONFLICT = "PayloadConflict"
    STRIPE_RATE_LIMITED = "StripeRateLimited"
    #: 429 ``lock_timeout``: concurrent writes to one Stripe object, not the rate limit.
    STRIPE_LOCK_TIMEOUT = "StripeLockTimeout"
    STRIPE_LATENCY = "StripeLatency"  # Milliseconds
