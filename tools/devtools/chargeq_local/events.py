"""Turn messages received from SQS into the event Lambda's SQS event source delivers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: What the poller asks SQS for, so the records carry what Lambda's would.
SYSTEM_ATTRIBUTES = ["All"]


def lambda_event(messages: Iterable[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Build ``{"Records": [...]}`` from ReceiveMessage results, field for field as Lambda does."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: _attribute(value)
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda spells message attributes in camelCase, ReceiveMessage in PascalCase, and
    # carries only the value the attribute has (AWS's example event in tests/events/).
    present = {
        name: value[source]
        for name, source in (("stringValue", "StringValue"), ("binaryValue", "BinaryValue"))
        if source in value
    }
    return {
        **present,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
