"""Powertools' SQS batch processor, with the records of one batch charged concurrently."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS ``BatchProcessor`` with the records of a batch charged concurrently.

    Each record still goes through Powertools' own per-record success/failure handling, so
    the partial batch response is exactly the sequential one. Standard queues only: a FIFO
    queue needs its message groups in order (Powertools' ``SqsFifoPartialProcessor``).
    """

    def __init__(self, threads: Executor | None) -> None:
        # An all-failed batch is reported like any other, not raised as an invocation error.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # The container's pool (its size is the bound), not one per batch: see Dependencies.
        self._threads = threads

    def process(self) -> list[tuple[Any, ...]]:
        if self._threads is None or len(self.records) <= 1:
            return super().process()
        return list(self._threads.map(self._process_record, self.records))
