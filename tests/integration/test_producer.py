"""The producer client: contract checks before sending, batching, and partial failures."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chargeq.producer import ChargeProducer
from charges.contract import ChargeLimits


def charge(request_id: str, **overrides: Any) -> dict[str, Any]:
    return {"request_id": request_id, "customer": "cus_1", "amount": 500, "currency": "usd"} | (
        overrides
    )


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


class FlakySqs:
    """moto's client, but SendMessageBatch fails chosen entries or whole calls first."""

    def __init__(self, real: Any, *, fail_entries: int = 0, fail_calls: int = 0) -> None:
        self._real = real
        self.fail_entries = fail_entries
        self.fail_calls = fail_calls
        self.calls = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.fail_calls:
            self.fail_calls -= 1
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "try again"}},
                "SendMessageBatch",
            )
        failing, passing = Entries[: self.fail_entries], Entries[self.fail_entries :]
        self.fail_entries = 0
        response = self._real.send_message_batch(QueueUrl=QueueUrl, Entries=passing)
        response.setdefault("Failed", []).extend(
            {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"} for entry in failing
        )
        return response


def test_sends_valid_requests_in_batches_of_ten(sqs: Any, queue_url: str):
    # GIVEN 25 valid requests
    producer = ChargeProducer(queue_url, sqs_client=sqs)
    # WHEN they are sent at once
    report = producer.send_many([charge(f"r-{i}") for i in range(25)])
    # THEN all are accepted, each is on the queue once, with the contract version added
    assert report.ok and len(report.accepted) == 25
    bodies = drain(sqs, queue_url)
    assert sorted(body["request_id"] for body in bodies) == sorted(f"r-{i}" for i in range(25))
    assert all(body["version"] == 1 for body in bodies)


def test_invalid_requests_are_reported_and_not_sent(sqs: Any, queue_url: str):
    # GIVEN a mix of valid and invalid requests
    producer = ChargeProducer(queue_url, sqs_client=sqs, limits=ChargeLimits(max_amount=1000))
    requests = [
        charge("good-1"),
        charge("too-big", amount=5000),
        {"customer": "cus_1", "amount": 5, "currency": "usd"},
        charge("bad-currency", currency="eur"),
        charge("good-2"),
    ]
    # WHEN they are sent
    report = producer.send_many(requests)
    # THEN only the valid ones reach the queue and each invalid one says why
    assert [item.request_id for item in report.accepted] == ["good-1", "good-2"]
    assert [(item.index, item.reason) for item in report.rejected] == [
        (1, "limit_exceeded"),
        (2, "missing_request_id"),
        (3, "limit_exceeded"),
    ]
    assert {body["request_id"] for body in drain(sqs, queue_url)} == {"good-1", "good-2"}


def test_entries_sqs_failed_are_retried_until_accepted(sqs: Any, queue_url: str):
    # GIVEN SQS fails three entries of the first batch and then a whole call
    flaky = FlakySqs(sqs, fail_entries=3)
    producer = ChargeProducer(queue_url, sqs_client=flaky, backoff_seconds=0)
    # WHEN ten requests are sent
    report = producer.send_many([charge(f"r-{i}") for i in range(10)])
    # THEN the failed entries were sent again and every request is on the queue exactly once
    assert report.ok and flaky.calls == 2
    assert len(drain(sqs, queue_url)) == 10


def test_gives_up_after_max_attempts_and_says_so(sqs: Any, queue_url: str):
    # GIVEN SQS is unavailable for longer than the producer retries
    flaky = FlakySqs(sqs, fail_calls=10)
    producer = ChargeProducer(queue_url, sqs_client=flaky, max_attempts=3, backoff_seconds=0)
    # WHEN a request is sent
    report = producer.send(charge("r-1"))
    # THEN it is reported not sent, with the last error, after exactly three attempts
    assert not report.accepted and flaky.calls == 3
    assert report.rejected[0].reason == "send_failed"
    assert "ServiceUnavailable" in report.rejected[0].detail
