"""The strict SQS layer refuses what SQS refuses, on clients built any way the project builds them.

Sources, per rule (each test names its own):
- SendMessage, API Reference (characters; InvalidMessageContents):
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
- SendMessageBatch, API Reference (1 MiB per message and per batch, 10 entries, entry IDs,
  per-entry results in Failed):
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
- Developer Guide, "Amazon SQS message attributes" (up to 10; names; types; every part
  counts toward the message size; name, type and value never empty):
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chargeq_local.sqs_rules import MAX_MESSAGE_BYTES, forbidden_character
from chargeq_local.strict_sqs import PLUGIN_ENVIRONMENT, install


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield install(boto3.client("sqs", region_name="us-east-1"))


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="strict")["QueueUrl"])


def text(name: str, value: str) -> dict[str, dict[str, str]]:
    return {name: {"DataType": "String", "StringValue": value}}


def received(sqs: Any, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [message["Body"] for message in messages]


@pytest.mark.parametrize(
    "character", ["\x00", "\x08", "\x0b", "\x1f", "\ud800", "\ufffe", "\uffff"]
)
def test_a_body_with_a_forbidden_character_is_invalid_message_contents(sqs, queue_url, character):
    """SendMessage: only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF;
    otherwise InvalidMessageContents."""
    with pytest.raises(sqs.exceptions.InvalidMessageContents) as refused:
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"before{character}after")
    assert refused.value.response["Error"]["Code"] == "InvalidMessageContents"
    assert received(sqs, queue_url) == []


def test_every_allowed_range_is_accepted(sqs, queue_url):
    """SendMessage: the allowed set, at each edge of each range."""
    body = "\t\n\r \ud7ff\ue000\ufffd\U00010000\U0010ffff"
    assert forbidden_character(body) is None
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert received(sqs, queue_url) == [body]


def test_a_string_attribute_value_with_a_forbidden_character_is_refused(sqs, queue_url):
    """Message attributes: a String value has the body's restrictions on content."""
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue_url, MessageBody="ok", MessageAttributes=text("a", "x\0"))
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "#x0" in refused.value.response["Error"]["Message"]


def test_eleven_message_attributes_are_refused_ten_are_not(sqs, queue_url):
    """Message attributes: each message can have up to 10 attributes."""
    ten = {f"a{index}": {"DataType": "String", "StringValue": "v"} for index in range(10)}
    sqs.send_message(QueueUrl=queue_url, MessageBody="ten", MessageAttributes=ten)
    with pytest.raises(ClientError) as refused:
        sqs.send_message(
            QueueUrl=queue_url, MessageBody="eleven", MessageAttributes=ten | text("a10", "v")
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert received(sqs, queue_url) == ["ten"]


@pytest.mark.parametrize(
    "name",
    [
        "AWS.trace",
        "amazon.x",
        "Amazon.X",
        ".leading",
        "trailing.",
        "two..dots",
        "space name",
        "ünïcode",
        "n" * 257,
    ],
)
def test_attribute_names_outside_sqs_rules_are_refused(sqs, queue_url, name):
    """Message attributes, Name: A-Z a-z 0-9 _ - . ; up to 256; not AWS./Amazon. (any
    case); not starting or ending with a period; no periods in succession."""
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue_url, MessageBody="ok", MessageAttributes=text(name, "v"))
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize(
    "attribute",
    [
        {"DataType": "Text", "StringValue": "v"},
        {"DataType": "String", "StringValue": ""},
        {"DataType": "Number", "StringValue": "twelve"},
        {"DataType": "Binary", "BinaryValue": b""},
    ],
)
def test_attribute_types_and_empty_values_are_refused(sqs, queue_url, attribute):
    """Message attributes: types String, Number, Binary (with custom labels); name, type
    and value must not be empty."""
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue_url, MessageBody="ok", MessageAttributes={"a": attribute})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_the_size_limit_counts_attribute_names_types_and_values(sqs, queue_url):
    """Message attributes: all parts (name, type, value) count toward the 1 MiB limit."""
    attributes = text("name", "value")  # 4 + 6 + 5 bytes
    fits = "x" * (MAX_MESSAGE_BYTES - 15)
    sqs.send_message(QueueUrl=queue_url, MessageBody=fits, MessageAttributes=attributes)
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=queue_url, MessageBody=fits + "x", MessageAttributes=attributes)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_the_size_limit_counts_utf8_bytes_not_characters(sqs, queue_url):
    """SendMessage: the limit is in bytes; a euro sign is three of them."""
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=queue_url, MessageBody="€" * (MAX_MESSAGE_BYTES // 3 + 1))


def test_a_batch_entry_sqs_refuses_fails_alone(sqs, queue_url):
    """SendMessageBatch: results are reported per entry; check Failed even on HTTP 200.
    (Whether SQS fails such an entry alone or the call is not published; per entry, with
    SQS's code and SenderFault, is what a sender must handle.)"""
    answer = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "good", "MessageBody": "fine"},
            {"Id": "bad-body", "MessageBody": "nul\0"},
            {"Id": "bad-attr", "MessageBody": "ok", "MessageAttributes": text("AWS.x", "v")},
        ],
    )
    assert [entry["Id"] for entry in answer["Successful"]] == ["good"]
    failed = {entry["Id"]: entry for entry in answer["Failed"]}
    assert failed["bad-body"]["Code"] == "InvalidMessageContents"
    assert failed["bad-attr"]["Code"] == "InvalidParameterValue"
    assert all(entry["SenderFault"] for entry in failed.values())
    assert received(sqs, queue_url) == ["fine"]


def test_a_batch_of_only_refused_entries_sends_nothing(sqs, queue_url):
    answer = sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": "bad", "MessageBody": "\x01"}]
    )
    assert answer["Successful"] == []
    assert [entry["Id"] for entry in answer["Failed"]] == ["bad"]
    assert received(sqs, queue_url) == []


def test_a_batch_over_one_mib_in_total_fails_whole(sqs, queue_url):
    """SendMessageBatch: the sum of the messages' sizes is at most 1 MiB, or the call
    fails with BatchRequestTooLong."""
    half = "x" * (MAX_MESSAGE_BYTES // 2)
    with pytest.raises(sqs.exceptions.BatchRequestTooLong) as refused:
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": "a", "MessageBody": half},
                {"Id": "b", "MessageBody": half, "MessageAttributes": text("n", "v")},
            ],
        )
    assert refused.value.response["Error"]["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert received(sqs, queue_url) == []


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        (
            [{"Id": str(index), "MessageBody": "m"} for index in range(11)],
            "TooManyEntriesInBatchRequest",
        ),
        (
            [{"Id": "same", "MessageBody": "m"}, {"Id": "same", "MessageBody": "n"}],
            "BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "has:colon", "MessageBody": "m"}], "InvalidBatchEntryId"),
    ],
)
def test_batch_rules_fail_the_whole_call(sqs, queue_url, entries, error):
    """SendMessageBatch errors: TooManyEntriesInBatchRequest (more than 10),
    BatchEntryIdsNotDistinct, InvalidBatchEntryId (alphanumerics, - and _, up to 80)."""
    with pytest.raises(getattr(sqs.exceptions, error)):
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def test_the_callers_entries_are_left_as_they_were(sqs, queue_url):
    entries = [{"Id": "good", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "\x02"}]
    sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert [entry["Id"] for entry in entries] == ["good", "bad"]


def test_a_plain_client_under_the_plugin_variable_is_strict():
    """The function's own client and the CLI's are built by code that knows nothing of the
    layer; botocore's client-plugin variable reaches them. If botocore stops honouring it,
    this fails instead of the stand-in going lenient in silence."""
    assert (
        os.environ.get("BOTOCORE_EXPERIMENTAL__PLUGINS")
        == (PLUGIN_ENVIRONMENT["BOTOCORE_EXPERIMENTAL__PLUGINS"])
    )
    script = (
        "import boto3, moto\n"
        "with moto.mock_aws():\n"
        "    sqs = boto3.client('sqs', region_name='us-east-1')\n"
        "    url = sqs.create_queue(QueueName='q')['QueueUrl']\n"
        "    try:\n"
        "        sqs.send_message(QueueUrl=url, MessageBody='nul\\0')\n"
        "    except sqs.exceptions.InvalidMessageContents:\n"
        "        print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ | PLUGIN_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "refused", done.stderr
