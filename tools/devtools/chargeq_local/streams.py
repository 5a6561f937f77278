"""Read a DynamoDB stream the way Lambda's event source does, and hand batches to a handler.

``StreamReader`` polls ``dynamodbstreams`` (``DescribeStream``, ``GetShardIterator``,
``GetRecords``) from the start of each shard (``TRIM_HORIZON``, the stack's starting
position) and turns each record into the shape Lambda delivers
(docs.aws.amazon.com/lambda/latest/dg/with-ddb.html: ``eventSourceARN`` added,
``ApproximateCreationDateTime`` as epoch seconds). ``deliver`` gives a handler one batch
and, like the event source with ``ReportBatchItemFailures``, keeps the records from the
first reported failure on for the next call (at least once, in order per shard).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.config import Config

StreamHandler = Callable[[dict[str, Any]], dict[str, Any]]

#: botocore addresses DynamoDB Streams by account ID (``<account>.streams-ddb.<region>``),
#: a host moto does not route; the regional endpoint is the same API.
STREAMS_CLIENT_CONFIG = Config(account_id_endpoint_mode="disabled")


def streams_client(session: Any, endpoint_url: str | None = None) -> Any:
    """A ``dynamodbstreams`` client that reaches moto (in process or its server)."""
    return session.client(
        "dynamodbstreams", endpoint_url=endpoint_url, config=STREAMS_CLIENT_CONFIG
    )


class StreamReader:
    """One stream, read from the start; ``poll`` returns records not yet handed out."""

    def __init__(self, streams_client: Any, stream_arn: str, batch_size: int = 100) -> None:
        self._streams = streams_client
        self.stream_arn = stream_arn
        self.batch_size = batch_size
        self._iterators: dict[str, str | None] = {}
        self._held: list[dict[str, Any]] = []  # handed out, reported failed: retried first

    @property
    def holding(self) -> bool:
        """True while records reported failed wait to be handed out again."""
        return bool(self._held)

    def replay(self) -> None:
        """Read every shard again from ``TRIM_HORIZON`` (the oldest record kept): what a
        consumer does when its event source mapping is recreated or its position lost."""
        self._iterators.clear()
        self._held = []

    def poll(self) -> list[dict[str, Any]]:
        """The next records of every shard (held failures first), Lambda-shaped."""
        if self._held:
            held, self._held = self._held, []
            return held
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue  # a closed shard, read to its end
            answer = self._streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            self._iterators[shard_id] = answer.get("NextShardIterator")
            records.extend(
                self._lambda_shaped(record)
                for record in answer["Records"]
                if not _moto_key_only_insert(record)
            )
        return records

    def deliver(self, handler: StreamHandler) -> int:
        """Poll once and give the batch to ``handler``; returns how many records it took.

        Records from the first one the partial batch response names are kept for the next
        call; a handler that raises keeps the whole batch.
        """
        records = self.poll()
        if not records:
            return 0
        try:
            response = handler({"Records": records})
        except BaseException:  # the invocation failed or its container died: all again
            self._held = records
            raise
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for index, record in enumerate(records):
            if record["dynamodb"]["SequenceNumber"] in failed:
                self._held = records[index:]
                return index
        return len(records)

    def _lambda_shaped(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        return {**record, "dynamodb": change, "eventSourceARN": self.stream_arn}


def _moto_key_only_insert(record: dict[str, Any]) -> bool:
    """moto (5.2) records an ``UpdateItem`` that creates an item as two INSERTs: the key
    alone, then the whole item. DynamoDB records one INSERT with the item as written
    (docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); the first is
    dropped so consumers see what Lambda would deliver. No item of the pipeline's tables
    is ever its key alone."""
    change = record.get("dynamodb", {})
    return bool(
        record.get("eventName") == "INSERT" and change.get("NewImage") == change.get("Keys")
    )
