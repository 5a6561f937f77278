"""Send a record that can never succeed to the DLQ, with the reason as message attributes.

Poison goes to the DLQ at once rather than through the redrive policy: a contract violation
repeats on every delivery, so waiting for ``maxReceiveCount`` would only burn invocations
and delay the alarm, and a message moved by the redrive policy carries no reason. The
original body is kept byte for byte so a fixed message can be redriven as it was.

If the send itself fails the record is reported failed instead: SQS delivers it again and,
in the worst case, the redrive policy moves it without a reason. Nothing is lost.

The attributes added here are always ones SQS accepts, whatever the body holds: a detail
quoting a forbidden character (a NUL in an unknown field's name) carries it escaped, and
the attributes shrink, then go, when a body near the size limit leaves no room for them
(SendMessage, API Reference; "Amazon SQS message attributes", Developer Guide).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from charges.outcomes import PoisonMessage, TransientFailure

#: Message attribute names on dead-lettered messages; the CLI's `dlq list` reads them.
REASON_ATTRIBUTE = "chargeq-reason"
DETAIL_ATTRIBUTE = "chargeq-detail"
SOURCE_MESSAGE_ATTRIBUTE = "chargeq-source-message-id"
RECEIVE_COUNT_ATTRIBUTE = "chargeq-receive-count"
FAILED_AT_ATTRIBUTE = "chargeq-failed-at"

_MAX_DETAIL = 1000

#: SQS's ceiling for one message: the body plus every attribute's name, type and value.
MAX_MESSAGE_BYTES = 1_048_576
#: Characters SQS refuses in a body or a String attribute value: anything outside
#: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (lone surrogates too).
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STRING = "String"


def sqs_safe(value: str) -> str:
    """``value`` with each character SQS refuses written as ``\\uXXXX``; never empty."""
    escaped = _FORBIDDEN.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    return escaped or "-"


def fit_attributes(body: str, attributes: dict[str, str]) -> dict[str, str]:
    """The attributes, escaped, trimmed to what fits beside ``body`` in one SQS message.

    The detail is shortened first, then attributes are dropped from the last; the reason
    (first) goes last. A body SQS accepted always fits alone, so the send cannot fail on
    size; at worst the message arrives without a reason, as the redrive policy's do.
    """
    fitted = {name: sqs_safe(value) for name, value in attributes.items()}
    room = MAX_MESSAGE_BYTES - len(body.encode("utf-8", "surrogatepass"))

    def size() -> int:
        return sum(len(f"{name}{_STRING}{value}".encode()) for name, value in fitted.items())

    if size() > room and DETAIL_ATTRIBUTE in fitted:
        fitted[DETAIL_ATTRIBUTE] = "-"
    for name in reversed(list(fitted)):
        if size() <= room:
            break
        del fitted[name]
    return fitted


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
        }
        # SQS refuses empty bodies; an empty poison message is still kept, as a marker.
        body = record.body or "(empty body)"
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": _STRING, "StringValue": value}
                for name, value in fit_attributes(body, attributes).items()
            },
        )
