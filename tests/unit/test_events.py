"""The sample events are what AWS and the function really produce, and the local runtime
builds its events in the same shape."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chargeq_local.events import lambda_event
from charges.dead_letters import DeadLetterQueue
from charges.outcomes import Reason, TransientFailure
from tests.samples import load_event


class CapturingSQS:
    """An SQS client that keeps the messages sent to it."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {"MessageId": "unused"}


def test_the_local_runtime_builds_records_shaped_like_awss_example():
    # GIVEN AWS's example event and a message as ReceiveMessage returns it (all attributes)
    (example, *_) = load_event("sqs_example")["Records"]
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": dict(example["attributes"]),
        "MessageAttributes": {"myAttribute": {"StringValue": "myValue", "DataType": "String"}},
    }
    # WHEN the local runtime turns it into a Lambda event
    (record,) = lambda_event([message], "arn:aws:sqs:us-east-2:123456789012:my-queue")["Records"]
    # THEN it has the example's fields, and its message attributes the example's spelling
    assert set(record) == set(example)
    assert record["messageAttributes"] == example["messageAttributes"]
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-2")


def test_the_dead_lettered_sample_carries_what_the_function_writes(dead_lettered_event):
    # GIVEN the function dead-letters a request on its last delivery
    (sample,) = dead_lettered_event["Records"]
    sqs = CapturingSQS()
    record = SQSRecord(load_event("redriven")["Records"][0])
    failure = TransientFailure(Reason.RETRIES_EXHAUSTED, "stripe_unreachable: APIConnectionError")
    # WHEN it is sent to the DLQ
    DeadLetterQueue(sqs, "dlq-url").send(record, failure)
    # THEN the sample holds the same body and the same chargeq-* attributes, as strings
    (sent,) = sqs.sent
    assert sample["body"] == sent["MessageBody"]
    assert set(sample["messageAttributes"]) == set(sent["MessageAttributes"])
    assert {value["dataType"] for value in sample["messageAttributes"].values()} == {"String"}
    assert sample["messageAttributes"]["chargeq-reason"]["stringValue"] == "retries_exhausted"


def test_a_redriven_message_is_a_new_message_with_the_attributes_kept(
    dead_lettered_event, redriven_event
):
    # The redrive task (StartMessageMoveTask) makes a new message: new ID, new enqueue
    # time, receive count from zero; message attributes are kept. SQS Developer Guide,
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
    (letter,) = dead_lettered_event["Records"]
    (redriven,) = redriven_event["Records"]
    assert redriven["messageId"] != letter["messageId"]
    assert int(redriven["attributes"]["SentTimestamp"]) > int(letter["attributes"]["SentTimestamp"])
    assert redriven["attributes"]["ApproximateReceiveCount"] == "1"
    assert redriven["messageAttributes"] == letter["messageAttributes"]
    assert (redriven["body"], redriven["md5OfBody"]) == (letter["body"], letter["md5OfBody"])
    assert redriven["eventSourceARN"] + "-dlq" == letter["eventSourceARN"]
