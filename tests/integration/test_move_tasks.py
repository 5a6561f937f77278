"""The local message move task behaves as SQS's DLQ redrive does.

Sources:
- Developer Guide, "Configure a dead-letter queue redrive": a redriven message is a new
  message: new message ID, new enqueue time (SentTimestamp), receive count from zero,
  retention restarted; message attributes are kept.
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
- API Reference, StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask and
  ListMessageMoveTasksResultEntry (source must be a DLQ; one active task per queue;
  newest first, MaxResults 1 by default; TaskHandle only while RUNNING;
  ApproximateNumberOfMessagesToMove taken at the start).
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chargeq.deployment import queue_arn
from chargeq.dlq import move_all
from chargeq_local.strict_sqs import install


@dataclass
class Queues:
    sqs: Any
    queue_url: str
    dlq_url: str

    @property
    def dlq_arn(self) -> str:
        return queue_arn(self.sqs, self.dlq_url)

    @property
    def queue_arn(self) -> str:
        return queue_arn(self.sqs, self.queue_url)


@pytest.fixture
def queues() -> Iterator[Queues]:
    with mock_aws():
        sqs = install(boto3.client("sqs", region_name="us-east-1"))
        dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        policy = {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": 2}
        queue_url = sqs.create_queue(
            QueueName="queue", Attributes={"RedrivePolicy": json.dumps(policy)}
        )["QueueUrl"]
        yield Queues(sqs, queue_url, dlq_url)


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=60,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages"):
        messages += batch
    return messages


def wait_until_finished(queues: Queues) -> dict[str, Any]:
    for _ in range(200):
        (task,) = queues.sqs.list_message_move_tasks(SourceArn=queues.dlq_arn)["Results"]
        if task["Status"] not in ("RUNNING", "CANCELLING"):
            return dict(task)
        time.sleep(0.02)
    raise AssertionError("the move task did not finish")


def test_a_redriven_message_is_a_new_message_with_its_body_and_attributes(queues):
    sqs = queues.sqs
    attributes = {
        "chargeq-reason": {"DataType": "String", "StringValue": "retries_exhausted"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = sqs.send_message(
        QueueUrl=queues.dlq_url, MessageBody='{"a": 1}', MessageAttributes=attributes
    )["MessageId"]
    # received once in the DLQ, so its receive count there is 1 and its timestamp old
    (before,) = receive_all(sqs, queues.dlq_url)
    sqs.change_message_visibility(
        QueueUrl=queues.dlq_url, ReceiptHandle=before["ReceiptHandle"], VisibilityTimeout=0
    )
    time.sleep(0.01)
    sqs.start_message_move_task(SourceArn=queues.dlq_arn, DestinationArn=queues.queue_arn)
    task = wait_until_finished(queues)
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 1)
    (after,) = receive_all(sqs, queues.queue_url)
    assert after["MessageId"] != sent
    assert int(after["Attributes"]["SentTimestamp"]) > int(before["Attributes"]["SentTimestamp"])
    assert after["Attributes"]["ApproximateReceiveCount"] == "1"  # counted from zero
    assert after["Body"] == '{"a": 1}'
    assert after["MessageAttributes"]["chargeq-reason"]["StringValue"] == "retries_exhausted"
    assert after["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert receive_all(sqs, queues.dlq_url) == []


def test_a_task_moves_the_messages_present_when_it_started(queues):
    for index in range(25):
        queues.sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=f"m{index}")
    report = move_all(queues.sqs, queues.dlq_url, queues.queue_url, poll_seconds=0.02)
    assert (report.status, report.moved, report.to_move) == ("COMPLETED", 25, 25)
    assert sorted(m["Body"] for m in receive_all(queues.sqs, queues.queue_url)) == sorted(
        f"m{index}" for index in range(25)
    )


def test_the_handle_is_listed_only_while_running_and_newest_first(queues):
    sqs = queues.sqs
    sqs.send_message(QueueUrl=queues.dlq_url, MessageBody="one")
    first = sqs.start_message_move_task(SourceArn=queues.dlq_arn)["TaskHandle"]
    wait_until_finished(queues)
    second = sqs.start_message_move_task(SourceArn=queues.dlq_arn)["TaskHandle"]
    assert first != second
    wait_until_finished(queues)
    results = sqs.list_message_move_tasks(SourceArn=queues.dlq_arn, MaxResults=10)["Results"]
    assert len(results) == 2
    assert [task["ApproximateNumberOfMessagesToMove"] for task in results] == [0, 1]
    assert all("TaskHandle" not in task for task in results)
    assert "DestinationArn" not in results[0]  # not given: NULL, as SQS reports it


def test_one_active_task_per_queue_and_cancel(queues):
    sqs = queues.sqs
    for index in range(5):
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=f"m{index}")
    handle = sqs.start_message_move_task(SourceArn=queues.dlq_arn, MaxNumberOfMessagesPerSecond=1)[
        "TaskHandle"
    ]
    with pytest.raises(ClientError):
        sqs.start_message_move_task(SourceArn=queues.dlq_arn)
    (running,) = sqs.list_message_move_tasks(SourceArn=queues.dlq_arn)["Results"]
    assert (running["Status"], running["TaskHandle"]) == ("RUNNING", handle)
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    sqs.cancel_message_move_task(TaskHandle=handle)
    task = wait_until_finished(queues)
    assert task["Status"] == "CANCELLED"
    moved = task["ApproximateNumberOfMessagesMoved"]
    assert moved < 5
    # what was not moved is still in the DLQ, visible at once
    assert len(receive_all(sqs, queues.dlq_url)) == 5 - moved


def test_the_source_must_be_a_dead_letter_queue(queues):
    with pytest.raises(ClientError) as refused:
        queues.sqs.start_message_move_task(SourceArn=queues.queue_arn)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_unknown_queues_and_handles_are_resource_not_found(queues):
    sqs = queues.sqs
    missing = queues.dlq_arn.rsplit(":", 1)[0] + ":missing"
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.start_message_move_task(SourceArn=missing)
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.list_message_move_tasks(SourceArn=missing)
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle="bm9uZQ==")
