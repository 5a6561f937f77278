"""The local event source gathers a batch as Lambda's SQS event source does.

Source: docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Batching
behavior": Lambda reads records until it has gathered a full batch, the batching window
expires, or the batch reaches the 6 MB invocation payload limit; a ReceiveMessage returns
at most 10 messages (SQS API Reference, MaxNumberOfMessages).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chargeq_local.aws_errors import error_response
from chargeq_local.event_source import INVOCATION_PAYLOAD_BYTES, EventSource


def send(sqs: Any, queue_url: str, count: int, body: str = "{}") -> None:
    for _ in range(count):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def source(sqs: Any, queue_url: str, batch_size: int, window: float) -> EventSource:
    arn = "arn:aws:sqs:us-east-1:123456789012:requests"
    return EventSource(sqs, queue_url, arn, batch_size=batch_size, batching_window_seconds=window)


def timed(source: EventSource) -> tuple[int, float]:
    started = time.monotonic()
    batch = source.receive()
    return len(batch), time.monotonic() - started


def test_a_batch_of_twelve_takes_more_than_one_receive_and_goes_when_full(sqs, queue_url):
    # GIVEN 15 requests queued, batches of 12 gathered for up to a second
    send(sqs, queue_url, 15)
    gather = source(sqs, queue_url, 12, 1.0)
    # WHEN the event source takes a batch: 12, at once (a receive gives at most 10)
    count, took = timed(gather)
    assert count == 12 and took < 0.5
    # AND the next holds the 3 left, once the window has passed
    count, took = timed(gather)
    assert count == 3 and took >= 1.0


def test_without_a_window_a_batch_is_what_one_receive_gives(sqs, queue_url):
    send(sqs, queue_url, 4)
    count, took = timed(source(sqs, queue_url, 10, 0))
    assert count == 4 and took < 0.5


def test_requests_sent_while_the_window_is_open_join_the_batch(sqs, queue_url):
    # GIVEN 2 requests queued, and 3 more sent 0.3 s into the window
    send(sqs, queue_url, 2)
    later = threading.Timer(0.3, send, args=(sqs, queue_url, 3))
    later.start()
    # THEN the batch holds all 5
    count, _ = timed(source(sqs, queue_url, 12, 1.0))
    later.join()
    assert count == 5


def test_a_batch_stops_short_of_the_invocation_payload_limit(sqs, queue_url):
    # GIVEN seven requests of 1,000,000 bytes (SQS takes up to 1 MiB each)
    send(sqs, queue_url, 7, body="x" * 1_000_000)
    # THEN a batch takes six: the seventh would pass 6 MB
    count, _ = timed(source(sqs, queue_url, 12, 1.0))
    assert count == 6
    assert 6_000_000 < INVOCATION_PAYLOAD_BYTES < 7_000_000


def sqs_internal_error(**_: Any) -> Any:
    """SQS's answer to a receive it failed: HTTP 500, ``InternalError`` (SQS API Reference,
    "Common Errors": docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
    CommonErrors.html)."""
    return error_response("InternalError", "We encountered an internal error.", status=500)


def test_a_receive_error_mid_batch_invokes_with_the_records_already_gathered(sqs, queue_url):
    """A poll that fails once records are gathered does not throw them away.

    What Lambda does with the records it holds when a later poll of its batching window
    fails is not documented; it "continues to poll messages" until the batch goes, holding
    what it gathered (services-sqs-configure.html, "Batching behavior").
    Dropping them is no stricter model of that: it hides them for the visibility timeout
    and spends one of their receives (``maxReceiveCount``) without an invocation, so a good
    request could reach the DLQ untried.
    """
    # GIVEN 15 requests queued, and SQS failing every receive after the first
    send(sqs, queue_url, 15)
    receives: list[int] = []

    def fail_after_first(**kwargs: Any) -> Any:
        receives.append(1)
        return sqs_internal_error(**kwargs) if len(receives) > 1 else None

    sqs.meta.events.register("before-call.sqs.ReceiveMessage", fail_after_first)
    # WHEN the event source gathers a batch of 12
    count, _ = timed(source(sqs, queue_url, 12, 1.0))
    # THEN it goes with the 10 the first receive gave
    assert count == 10
    assert len(receives) == 2


def test_a_receive_error_before_any_record_is_raised(sqs, queue_url):
    # GIVEN SQS failing every receive: nothing was gathered, so the poller sees the error
    send(sqs, queue_url, 3)
    sqs.meta.events.register("before-call.sqs.ReceiveMessage", sqs_internal_error)
    with pytest.raises(ClientError):
        source(sqs, queue_url, 12, 1.0).receive()


def test_an_empty_queue_answers_after_the_wait_not_the_window(sqs, queue_url):
    # A batching window opens with a record: with none, the poll ends after its wait.
    count, took = timed(source(sqs, queue_url, 12, 5.0))
    assert count == 0 and took < 1.0


def test_a_batch_of_one_goes_at_once_whatever_the_window(sqs, queue_url):
    send(sqs, queue_url, 3)
    count, took = timed(source(sqs, queue_url, 1, 5.0))
    assert count == 1 and took < 0.5
