"""What SQS refuses on SendMessage and SendMessageBatch, as plain checks on the API params.

moto 5.2 accepts much that SQS refuses (forbidden characters, eleven attributes, a message
whose attributes push it past the size limit, reserved attribute names). These checks
model SQS's published rules; ``strict_sqs`` applies them to every SQS client of the local
runtime and the tests. Sources:

- characters: SendMessage, API Reference
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
- attribute names, types, values, count, and "all parts count toward the size": Developer
  Guide, "Amazon SQS message attributes"
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
- 1 MiB per message and per batch, 10 entries, entry IDs, whole-call errors versus
  per-entry ``Failed``: SendMessageBatch, API Reference
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html

Where SQS's exact answer is not published (the error code for a bad attribute, whether a
bad entry fails alone), the stricter or the commonly observed one is modelled and marked
"not published" below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Largest message SQS takes, body plus every attribute's name, type and value, in bytes
#: (1 MiB since August 2025; the queue's ``MaximumMessageSize`` can only lower it).
MAX_MESSAGE_BYTES = 1_048_576
#: The sum over a batch's entries has the same ceiling.
MAX_BATCH_BYTES = 1_048_576
MAX_MESSAGE_ATTRIBUTES = 10
MAX_BATCH_ENTRIES = 10
MAX_ATTRIBUTE_NAME = 256
MAX_ATTRIBUTE_TYPE = 256

#: Anything outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
#: Python strings can hold lone surrogates (#xD800-#xDFFF); SQS cannot, so they match too.
FORBIDDEN_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_RESERVED_PREFIXES = ("aws.", "amazon.")
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_\-]{1,80}")
_QUERY_PREFIX = "AWS.SimpleQueueService."


@dataclass(frozen=True)
class Refusal:
    """SQS's answer to a request it refuses, as botocore reports it.

    ``code`` is ``Error.Code`` (SQS's JSON protocol sends the old query-protocol code in
    ``x-amzn-query-error``, and botocore reports that one); ``shape`` is the modelled
    error's name, which botocore uses to raise ``client.exceptions.<shape>`` (None for
    errors the service model does not declare, which raise a plain ``ClientError``).
    """

    code: str
    message: str
    shape: str | None = None

    @classmethod
    def modelled(cls, shape: str, message: str, *, query_prefix: bool = True) -> Refusal:
        return cls(f"{_QUERY_PREFIX}{shape}" if query_prefix else shape, message, shape)

    @classmethod
    def invalid_parameter(cls, message: str) -> Refusal:
        return cls("InvalidParameterValue", message)


def forbidden_character(text: str) -> str | None:
    """The first character SQS refuses in ``text``, as SQS names it (``#x0``), or None."""
    match = FORBIDDEN_CHARACTER.search(text)
    return f"#x{ord(match.group()):X}" if match else None


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes SQS counts for a message: UTF-8 body, plus each attribute's name, type, value."""
    size = len(body.encode("utf-8", "surrogatepass"))
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8", "surrogatepass"))
        size += len(str(attribute.get("DataType", "")).encode("utf-8", "surrogatepass"))
        if "BinaryValue" in attribute:
            value = attribute["BinaryValue"]
            size += len(value if isinstance(value, bytes | bytearray) else str(value).encode())
        else:
            size += len(str(attribute.get("StringValue", "")).encode("utf-8", "surrogatepass"))
    return size


def message_refusal(
    body: str, attributes: Mapping[str, Mapping[str, Any]] | None
) -> Refusal | None:
    """Why SQS would refuse this message (SendMessage, or one batch entry), or None."""
    character = forbidden_character(body)
    if character:
        return Refusal.modelled(
            "InvalidMessageContents",
            f"Invalid binary character '{character}' was found in the message body, the set "
            "of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | "
            "#x10000 to #x10FFFF",
            query_prefix=False,
        )
    attributes = attributes or {}
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        return Refusal.invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_MESSAGE_ATTRIBUTES}]."
        )
    for name, attribute in attributes.items():
        refusal = attribute_refusal(name, attribute)
        if refusal:
            return refusal
    size = message_size(body, attributes)
    if size > MAX_MESSAGE_BYTES:
        return Refusal.invalid_parameter(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{MAX_MESSAGE_BYTES} bytes."
        )
    return None


def attribute_refusal(name: str, attribute: Mapping[str, Any]) -> Refusal | None:
    """Why SQS would refuse this message attribute, or None. (Error code not published:
    ``InvalidParameterValue``, as SQS answers other parameter faults.)"""
    folded = name.lower()
    if (
        not _ATTRIBUTE_NAME.fullmatch(name)
        or len(name) > MAX_ATTRIBUTE_NAME
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    ):
        return Refusal.invalid_parameter(
            f"Message (user) attribute name '{name}' is invalid: up to {MAX_ATTRIBUTE_NAME} "
            "of A-Z, a-z, 0-9, '_', '-', '.', not starting or ending with '.', no '..'."
        )
    if folded.startswith(_RESERVED_PREFIXES):
        return Refusal.invalid_parameter(
            f"Message (user) attribute name '{name}' starts with a prefix reserved for AWS."
        )
    data_type = str(attribute.get("DataType", ""))
    base = data_type.split(".", 1)[0]
    if base not in ("String", "Number", "Binary") or len(data_type) > MAX_ATTRIBUTE_TYPE:
        return Refusal.invalid_parameter(
            f"The message attribute '{name}' has an invalid message attribute type, the set "
            "of supported type prefixes is Binary, Number, and String."
        )
    if forbidden_character(data_type):
        return Refusal.invalid_parameter(
            f"Message (user) attribute '{name}' type contains invalid characters."
        )
    if base == "Binary":
        if not attribute.get("BinaryValue"):
            return Refusal.invalid_parameter(
                f"Message (user) attribute '{name}' must contain a non-empty value of type "
                "'Binary'."
            )
        return None
    value = attribute.get("StringValue")
    if not isinstance(value, str) or value == "":
        return Refusal.invalid_parameter(
            f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
        )
    character = forbidden_character(value)
    if character:
        return Refusal.invalid_parameter(
            f"Message (user) attribute '{name}' value contains invalid character {character}."
        )
    if base == "Number" and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return Refusal.invalid_parameter(
            f"Can't cast the value of message (user) attribute '{name}' to a number."
        )
    return None


def batch_refusal(entries: Sequence[Mapping[str, Any]]) -> Refusal | None:
    """Why SQS would refuse a whole SendMessageBatch call, or None.

    These fail the call; faults of one entry's own content fail that entry only
    (``message_refusal``, reported in ``Failed``).
    """
    if not entries:
        return Refusal.modelled(
            "EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        )
    if len(entries) > MAX_BATCH_ENTRIES:
        return Refusal.modelled(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent "
            f"{len(entries)}.",
        )
    ids = [str(entry.get("Id", "")) for entry in entries]
    for entry_id in ids:
        if not _BATCH_ENTRY_ID.fullmatch(entry_id):
            return Refusal.modelled(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
    duplicates = sorted({entry_id for entry_id in ids if ids.count(entry_id) > 1})
    if duplicates:
        return Refusal.modelled("BatchEntryIdsNotDistinct", f"Id {duplicates[0]} repeated.")
    total = sum(
        message_size(str(entry.get("MessageBody", "")), entry.get("MessageAttributes"))
        for entry in entries
    )
    if total > MAX_BATCH_BYTES:
        return Refusal.modelled(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent "
            f"{total} bytes.",
        )
    return None
