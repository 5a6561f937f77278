"""Send a record that can never succeed to the DLQ, with the reason as message attributes.

Poison goes to the DLQ at once rather than through the redrive policy: a contract violation
repeats on every delivery, so waiting for ``maxReceiveCount`` would only burn invocations
and delay the alarm, and a message moved by the redrive policy carries no reason. The
original body is kept byte for byte so a fixed message can be redriven as it was.

If the send itself fails the record is reported failed instead: SQS delivers it again and,
in the worst case, the redrive policy moves it without a reason. Nothing is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from charges.delivery import FIRST_SENT_ATTRIBUTE, Delivery
from charges.outcomes import PoisonMessage, TransientFailure

#: Message attribute names on dead-lettered messages; the CLI's `dlq list` reads them.
REASON_ATTRIBUTE = "chargeq-reason"
DETAIL_ATTRIBUTE = "chargeq-detail"
SOURCE_MESSAGE_ATTRIBUTE = "chargeq-source-message-id"
RECEIVE_COUNT_ATTRIBUTE = "chargeq-receive-count"
FAILED_AT_ATTRIBUTE = "chargeq-failed-at"

_MAX_DETAIL = 1000


class DeadLetterQueue:
    """The DLQ, as the handler sees it: one call that dead-letters a record."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._url = queue_url

    def send(self, record: SQSRecord, failure: PoisonMessage | TransientFailure) -> None:
        """Put the record's original body on the DLQ with its reason.

        Raises whatever the SQS client raises; the caller reports the record failed.
        """
        attributes = {
            REASON_ATTRIBUTE: str(failure.reason),
            DETAIL_ATTRIBUTE: failure.detail[:_MAX_DETAIL] or "-",
            SOURCE_MESSAGE_ATTRIBUTE: record.message_id,
            RECEIVE_COUNT_ATTRIBUTE: record.attributes.approximate_receive_count,
            FAILED_AT_ATTRIBUTE: datetime.now(UTC).isoformat(timespec="seconds"),
            # A redrive makes a new message; this keeps the request's age across it, so
            # a late retry knows to look for an earlier charge (see charges.delivery).
            FIRST_SENT_ATTRIBUTE: str(Delivery.from_record(record).first_sent_ms),
        }
        self._sqs.send_message(
            QueueUrl=self._url,
            # SQS refuses empty bodies; an empty poison message is still kept, as a marker.
            MessageBody=record.body or "(empty body)",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
