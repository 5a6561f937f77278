"""The stack's two stream consumers, fed the way Lambda's DynamoDB event source feeds them.

- the ledger writer: the idempotency table's stream -> ``outbox.handler:lambda_handler``
  (its ``handle_stream``), one ledger transition per stored result;
- the outcome publisher: the ledger's stream -> ``outcome_events.handler:lambda_handler``,
  ``PutEvents`` of ``charge.<state>`` on the bus.

Each is a ``StreamReader`` (batches of up to 100, from ``TRIM_HORIZON``, partial batch
responses honoured) polled from a thread of this process four times a second, as Lambda
polls a shard (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Polling and batching
streams"), and a ``Worker``: the real handler in its own process, started with the
function's environment (``AWS_ENDPOINT_URL`` naming moto). Processes, not threads, because
(1) a consumer that dies between its read and its write must really die, losing nothing but
its process, as a Lambda container does, so the records are handed out again (the soak
kills it through botocore hooks installed by ``WORKER_SETUP_ENV``); (2) the handler runs as
deployed: its clients built from the environment, Powertools' logger and metrics flushed
per invocation into its log; (3) its own interpreter and GIL, beside the charge workers and
the pollers of this process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chargeq_local.streams import StreamReader
from chargeq_local.workers import Worker

logger = logging.getLogger("chargeq_local.stream_consumers")

#: Lambda polls each shard of a DynamoDB stream four times a second (with-ddb.html).
POLL_INTERVAL_SECONDS = 0.25
#: The stack's batch size for both event sources (``infra.constructs.outcomes``).
BATCH_SIZE = 100
#: A generous local timeout: the consumers' time is not what the runs measure.
TIMEOUT_SECONDS = 30.0
#: Empty polls in a row after which a consumer counts as caught up.
QUIET_POLLS = 2

LEDGER_WRITER = "outbox.handler:lambda_handler"
OUTCOME_PUBLISHER = "outcome_events.handler:lambda_handler"


@dataclass
class ConsumerCounts:
    """What one consumer did: invocations, records taken, failed invocations, replays."""

    invocations: int = 0
    records: int = 0
    failed_invocations: int = 0
    replays: int = 0


class StreamConsumer:
    """One event source mapping: a stream, a polling thread and the function's worker."""

    def __init__(
        self,
        name: str,
        reader: StreamReader,
        handler: str,
        environment: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.name = name
        self._reader = reader
        self._worker = Worker(dict(environment), log_path, TIMEOUT_SECONDS, handler)
        self.counts = ConsumerCounts()
        self._empty_polls = 0
        self._replay = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{name}", daemon=True)

    def start(self) -> None:
        self._worker.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_SECONDS + 5)
        self._worker.stop()

    def replay(self) -> None:
        """Re-read the stream from ``TRIM_HORIZON`` from the next poll on."""
        self._replay.set()
        self._empty_polls = 0

    @property
    def caught_up(self) -> bool:
        """Nothing held for retry and the last polls found no new record."""
        return not self._replay.is_set() and self._empty_polls >= QUIET_POLLS

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._replay.is_set():
                self._reader.replay()
                self.counts.replays += 1
                self._replay.clear()
            taken = self._deliver()
            if taken == 0 and not self._reader.holding:
                self._empty_polls += 1
                self._stop.wait(POLL_INTERVAL_SECONDS)
            else:
                self._empty_polls = 0

    def _deliver(self) -> int:
        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            self.counts.invocations += 1
            self.counts.records += len(event["Records"])
            return self._worker.invoke(event)

        try:
            return self._reader.deliver(invoke)
        except Exception as error:  # a failed invocation or a failed poll: retried
            self.counts.failed_invocations += 1
            logger.info("stream consumer %s: %s", self.name, error)
            self._stop.wait(POLL_INTERVAL_SECONDS)
            return 0


def consumer_environment(
    base: Mapping[str, str], ledger_table: str, bus_name: str
) -> dict[str, str]:
    """The two functions' variables (``infra.constructs.outcomes``'s, with local names)."""
    from ledger.store import LEDGER_TABLE_ENV
    from outcome_events.handler import EVENT_BUS_ENV

    return dict(base) | {LEDGER_TABLE_ENV: ledger_table, EVENT_BUS_ENV: bus_name}


def start_consumers(
    streams: Any,
    table_stream_arn: str,
    ledger_stream_arn: str,
    environment: Mapping[str, str],
    logs: Path,
) -> list[StreamConsumer]:
    """Start the ledger writer and the outcome publisher; the caller stops them."""
    consumers = [
        StreamConsumer(
            "ledger-writer",
            StreamReader(streams, table_stream_arn, BATCH_SIZE),
            LEDGER_WRITER,
            environment,
            logs / "ledger-writer.log",
        ),
        StreamConsumer(
            "outcome-publisher",
            StreamReader(streams, ledger_stream_arn, BATCH_SIZE),
            OUTCOME_PUBLISHER,
            environment,
            logs / "outcome-publisher.log",
        ),
    ]
    for consumer in consumers:
        consumer.start()
    return consumers


def wait_started(consumers: list[StreamConsumer], timeout: float = 5.0) -> None:
    """Give the consumers' first polls a moment (they start before any traffic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(c.caught_up for c in consumers):
        time.sleep(0.05)
