"""Names of the ledger functions' CloudWatch metrics (namespace ``ChargeQueue``), read by
the stack's alarms and dashboard; unit Count."""


class LedgerMetric:
    #: A fact moved a request to a new state.
    TRANSITION = "LedgerTransition"
    #: A stream record that states nothing readable (logged with its reason, not retried).
    RECORD_SKIPPED = "StreamRecordSkipped"
    #: An outcome event published to the bus (one per state change, at least once).
    OUTCOME_PUBLISHED = "OutcomePublished"
    #: A webhook request whose Stripe-Signature is missing, forged or too old (400).
    WEBHOOK_SIGNATURE_INVALID = "WebhookSignatureInvalid"
    #: A signed webhook whose body or PaymentIntent cannot be read (400).
    WEBHOOK_MALFORMED = "WebhookMalformed"
    #: A verified webhook event that changes nothing (another type, not ours, late).
    WEBHOOK_IGNORED = "WebhookIgnored"
    #: A verified webhook event that moved a request.
    WEBHOOK_APPLIED = "WebhookApplied"
    #: A failure event for a request the ledger does not know yet: answered 503, Stripe
    #: sends it again.
    WEBHOOK_DEFERRED = "WebhookDeferred"
    #: A dead-lettered request the ledger could not record (the DLQ still has it).
    LEDGER_WRITE_FAILED = "LedgerWriteFailed"
    #: Requests pending longer than the configured number of days (a gauge).
    PENDING_TOO_LONG = "PendingTooLong"


#: The publisher counts each outcome event by its state: the dashboard's outcomes by kind.
OUTCOME_METRICS = {
    "charged": "OutcomeCharged",
    "declined": "OutcomeDeclined",
    "pending": "OutcomePending",
    "failed": "OutcomeFailed",
    "dead_lettered": "OutcomeDeadLettered",
}
