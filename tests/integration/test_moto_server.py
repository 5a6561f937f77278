"""The local runtime's moto server (``chargeq_local.moto_server``) answers exactly as moto
does: its replacements only compute the same answers more cheaply."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core import utils as moto_utils
from moto.sqs.exceptions import InvalidAttributeName
from moto.sqs.models import SQSBackend, sqs_backends

from chargeq_local import moto_server

REGION = "us-east-1"


@pytest.fixture
def backend() -> Iterator[SQSBackend]:
    """moto's SQS backend holding a queue with a DLQ: three messages, one in flight."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="moto-server-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = (
            '{"deadLetterTargetArn": "' + dlq_arn["Attributes"]["QueueArn"] + '", '
            '"maxReceiveCount": "5"}'
        )
        queue = sqs.create_queue(QueueName="moto-server", Attributes={"RedrivePolicy": redrive})[
            "QueueUrl"
        ]
        for index in range(3):
            sqs.send_message(QueueUrl=queue, MessageBody=f"message {index}")
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=60)
        yield sqs_backends[DEFAULT_ACCOUNT_ID][REGION]


@pytest.mark.parametrize(
    "names",
    [
        ["ApproximateNumberOfMessages"],
        ["ApproximateNumberOfMessagesNotVisible", "RedrivePolicy", "MessageRetentionPeriod"],
        ["All"],
        [],
    ],
)
def test_queue_attributes_are_moto_s_own(backend: SQSBackend, names: list[str]):
    ours = moto_server.get_queue_attributes(backend, "moto-server", names)
    assert ours == SQSBackend.get_queue_attributes(backend, "moto-server", names)


def test_an_unknown_attribute_name_is_refused_as_moto_refuses_it(backend: SQSBackend):
    with pytest.raises(InvalidAttributeName):
        moto_server.get_queue_attributes(backend, "moto-server", ["NoSuchAttribute"])


def test_retention_is_judged_as_moto_judges_it(backend: SQSBackend):
    message: Any = backend.get_queue("moto-server")._messages[0]
    verdicts = []
    # Sent now, and sent five days ago (past the default retention of four days).
    for sent_ms in (time.time() * 1000, (time.time() - 5 * 86400) * 1000):
        message.sent_timestamp = int(sent_ms)
        verdicts.append(
            (
                moto_server.is_message_valid_based_on_retention_period(
                    backend, "moto-server", message
                ),
                SQSBackend.is_message_valid_based_on_retention_period(
                    backend, "moto-server", message
                ),
            )
        )
    assert verdicts == [(True, True), (False, False)]


def test_the_clock_reads_moto_s_time():
    before = moto_utils.unix_time()
    ours = moto_server.unix_time()
    after = moto_utils.unix_time()
    # moto's clock keeps microseconds; time.time() more.
    assert before - 1e-6 <= ours <= after + 1e-6
    assert moto_server.unix_time_millis(moto_utils.utcfromtimestamp(12)) == 12_000.0


def test_a_json_path_is_parsed_once_and_finds_what_a_fresh_parse_finds():
    import jsonpath_ng.ext

    event = {"detail": {"request_id": "r-1", "state": "charged"}, "id": "e-1"}
    first = moto_server.parse_jsonpath("$.detail.state")
    assert moto_server.parse_jsonpath("$.detail.state") is first
    fresh = jsonpath_ng.ext.parse("$.detail.state")
    assert [m.value for m in first.find(event)] == [m.value for m in fresh.find(event)]


def test_moto_s_modules_are_listed_once_as_moto_lists_them():
    from moto import backends

    assert moto_server.moto_modules() == tuple(backends.list_of_moto_modules())
    assert "sqs" in moto_server.moto_modules()
