"""Lambda's SQS event source, locally: concurrent pollers, each with its own worker process.

``concurrency`` pollers run at once (the event source's maximum concurrency), each
long-polling the queue and handing its batch to its own worker. A worker that crashes or
times out fails its batch and is replaced; the poller carries on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from chargeq.local.event_source import BatchReport, EventSource
from chargeq.local.workers import Worker


class Poller:
    """Runs until ``stop()``; reports every batch to ``on_batch``."""

    def __init__(
        self,
        source: EventSource,
        workers: list[Worker],
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self._source = source
        self._workers = workers
        self._on_batch = on_batch
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.busy = 0
        self._lock = threading.Lock()

    def start(self) -> Poller:
        for worker in self._workers:
            worker.start()
        for index, worker in enumerate(self._workers):
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"poller-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, worker: Worker) -> None:
        while not self._stop.is_set():
            messages = self._source.receive()
            if not messages:
                continue
            with self._lock:
                self.busy += 1
            try:
                report = self._source.deliver(messages, worker.invoke)
            finally:
                with self._lock:
                    self.busy -= 1
            if self._on_batch:
                self._on_batch(report)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        for worker in self._workers:
            worker.stop()
