"""The local event source gathers a batch as Lambda's SQS event source does.

Source: docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Batching
behavior": Lambda reads records until it has gathered a full batch, the batching window
expires, or the batch reaches the 6 MB invocation payload limit; a ReceiveMessage returns
at most 10 messages (SQS API Reference, MaxNumberOfMessages).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chargeq_local.event_source import INVOCATION_PAYLOAD_BYTES, EventSource


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="requests")["QueueUrl"])


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
