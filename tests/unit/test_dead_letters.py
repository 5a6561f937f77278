"""The attributes the function adds to a dead letter are always ones SQS accepts.

SQS refuses characters outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
#x10000-#x10FFFF in a String attribute value, more than 10 attributes, and a message whose
body plus attribute names, types and values exceed 1 MiB (SendMessage, API Reference:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html;
"Amazon SQS message attributes", Developer Guide:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
The checks here are the local stand-in's own (``chargeq_local.sqs_rules``), written apart
from the function's code.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from hypothesis import given
from hypothesis import strategies as st

from chargeq_local.events import lambda_event
from chargeq_local.sqs_rules import MAX_MESSAGE_BYTES, message_refusal
from charges.contract import ChargeLimits, parse_charge_request
from charges.dead_letters import DETAIL_ATTRIBUTE, REASON_ATTRIBUTE, DeadLetterQueue
from charges.outcomes import PoisonMessage, Reason


class RecordingSqs:
    """Stands in for the SQS client: keeps what the function sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {"MessageId": "m"}


def record(body: str) -> SQSRecord:
    message = {
        "MessageId": "11111111-2222-3333-4444-555555555555",
        "ReceiptHandle": "handle",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
    }
    event = lambda_event([message], "arn:aws:sqs:us-east-1:123456789012:charges")
    return SQSRecord(event["Records"][0])


def dead_letter(body: str, failure: PoisonMessage) -> dict[str, Any]:
    sqs = RecordingSqs()
    DeadLetterQueue(sqs, "https://dlq").send(record(body), failure)
    (sent,) = sqs.sent
    return sent


def test_an_unknown_field_named_with_a_nul_is_dead_lettered_with_an_escaped_detail():
    # GIVEN a body SQS accepts (JSON escapes the NUL) whose unknown field's name holds one
    body = json.dumps({"version": 1, "request_id": "r", "x\u0000y": 1})
    assert message_refusal(body, None) is None
    with_nul = None
    try:
        parse_charge_request(body, ChargeLimits())
    except PoisonMessage as poison:
        with_nul = poison
    assert with_nul is not None
    assert "\x00" in with_nul.detail  # the pipeline's own detail quotes the raw name
    # WHEN it is dead-lettered
    sent = dead_letter(body, with_nul)
    # THEN SQS would accept the message, the body is unchanged, the reason is there
    assert message_refusal(sent["MessageBody"], sent["MessageAttributes"]) is None
    assert sent["MessageBody"] == body
    attributes = sent["MessageAttributes"]
    assert attributes[REASON_ATTRIBUTE]["StringValue"] == "contract_violation"
    assert "x\\u0000y" in attributes[DETAIL_ATTRIBUTE]["StringValue"]


@given(detail=st.text(max_size=2000))
def test_any_detail_makes_a_message_sqs_accepts(detail):
    sent = dead_letter('{"a": 1}', PoisonMessage(Reason.CONTRACT_VIOLATION, detail))
    assert message_refusal(sent["MessageBody"], sent["MessageAttributes"]) is None


def test_a_body_near_the_limit_keeps_the_reason_and_drops_what_does_not_fit():
    room_for_the_reason = 200
    body = "x" * (MAX_MESSAGE_BYTES - room_for_the_reason)
    sent = dead_letter(body, PoisonMessage(Reason.LIMIT_EXCEEDED, "d" * 900))
    assert message_refusal(sent["MessageBody"], sent["MessageAttributes"]) is None
    assert sent["MessageBody"] == body
    assert sent["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] == "limit_exceeded"


def test_a_body_at_the_limit_is_still_dead_lettered_without_attributes():
    body = "x" * MAX_MESSAGE_BYTES
    sent = dead_letter(body, PoisonMessage(Reason.LIMIT_EXCEEDED, "too big"))
    assert message_refusal(sent["MessageBody"], sent["MessageAttributes"]) is None
    assert sent["MessageBody"] == body
    assert sent["MessageAttributes"] == {}
