"""Powertools' SQS batch processor, with the records of one batch charged concurrently,
one customer's records one after another."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS ``BatchProcessor`` with the records of a batch charged concurrently.

    Records naming the same customer run one after another, in the batch's order: Stripe
    locks the objects a request writes, and a request that finds the customer locked by
    another gets 429 ``lock_timeout`` (docs.stripe.com/rate-limits, "Object lock
    timeouts", which advises making requests on one object serially). Other records run
    at once. Each record still goes through Powertools' own per-record success/failure
    handling, so the partial batch response is exactly the sequential one. Standard queues
    only: a FIFO queue needs its message groups in order (Powertools'
    ``SqsFifoPartialProcessor``).
    """

    def __init__(self, threads: Executor | None) -> None:
        # An all-failed batch is reported like any other, not raised as an invocation error.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # The container's pool (its size is the bound), not one per batch: see Dependencies.
        self._threads = threads

    def process(self) -> list[tuple[Any, ...]]:
        if self._threads is None or len(self.records) <= 1:
            return super().process()
        results: list[tuple[Any, ...]] = [()] * len(self.records)

        def run(positions: Sequence[int]) -> None:
            for position in positions:
                results[position] = self._process_record(self.records[position])

        list(self._threads.map(run, by_customer(self.records)))
        return results


def by_customer(records: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Positions of the records, grouped by the ``customer`` their bodies name, each group
    in the batch's order. Read best-effort, before the contract is checked: a body that
    names no customer string is a group of its own (the handler dead-letters it)."""
    groups: dict[object, list[int]] = {}
    for position, record in enumerate(records):
        try:
            fields = json.loads(record.get("body") or "")
        except ValueError:
            fields = None
        customer = fields.get("customer") if isinstance(fields, dict) else None
        key: object = customer if isinstance(customer, str) else position
        groups.setdefault(key, []).append(position)
    return list(groups.values())
