"""What an SQS record says about its own history, and when Stripe must be asked first.

Stripe keeps an idempotency key for at least 24 hours. Within that window a retry that
reuses the key gets the first attempt's PaymentIntent back, so no look-up is needed. A
retry that may come later, or after an attempt whose outcome nobody wrote down, first
looks for a PaymentIntent carrying this ``request_id`` (``payments.find_existing``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

#: Set by the function when it dead-letters a message, and kept by redrives: when the
#: request was first put on the queue, in epoch milliseconds.
FIRST_SENT_ATTRIBUTE = "chargeq-first-sent-at"

#: Set on messages the CLI redrove from the DLQ by copying them.
REDRIVEN_ATTRIBUTE = "chargeq-redriven-from"

#: Look Stripe up once a message is this old: an hour short of Stripe's 24-hour key
#: lifetime, so clock skew and a slow first attempt cannot slip past it.
KEY_LIFETIME_MARGIN_MS = 23 * 3600 * 1000


@dataclass(frozen=True)
class Delivery:
    """One delivery of a message: how often it was received and since when it exists."""

    receive_count: int
    first_sent_ms: int
    redriven: bool = False

    @classmethod
    def from_record(cls, record: SQSRecord) -> Delivery:
        sent = int(record.attributes.sent_timestamp)
        attributes = record.message_attributes
        first_sent = attributes[FIRST_SENT_ATTRIBUTE]
        if first_sent and first_sent.string_value and first_sent.string_value.isdigit():
            sent = min(sent, int(first_sent.string_value))
        return cls(
            receive_count=int(record.attributes.approximate_receive_count),
            first_sent_ms=sent,
            redriven=REDRIVEN_ATTRIBUTE in attributes or FIRST_SENT_ATTRIBUTE in attributes,
        )

    def may_have_reached_stripe(self, now_ms: int | None = None) -> bool:
        """Whether an earlier attempt could have charged, beyond what the key covers.

        True for redeliveries (an earlier delivery may have died after Stripe answered),
        redriven messages, and messages old enough for Stripe to have pruned the key.
        """
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        too_old = now_ms - self.first_sent_ms >= KEY_LIFETIME_MARGIN_MS
        return self.receive_count > 1 or self.redriven or too_old
