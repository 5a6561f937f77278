"""Lambda's SQS event source, locally: concurrent pollers, each with its own worker process.

``concurrency`` pollers run at once (the event source's maximum concurrency), each
long-polling the queue and handing its batch to its own worker. Like Lambda's event
source, whose pollers read the queue apart from the function's invocations, each poller
receives its next batch while its worker runs the current one (one batch ahead), so a
worker goes from one batch to the next without waiting for SQS. A worker that crashes or
times out fails its batch and is replaced; the poller carries on. So it does when SQS
answers a receive or a delete with an error (moto's server answers 500 when two receives
race over a message due for the DLQ): Lambda's event source retries its polls, and
messages not deleted come back after their visibility timeout.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chargeq_local.event_source import BatchReport, EventSource
from chargeq_local.workers import Worker


class Poller:
    """Runs until ``stop()``; reports every batch to ``on_batch``."""

    def __init__(
        self,
        source: EventSource,
        workers: list[Worker],
        on_batch: Callable[[BatchReport], None] | None = None,
        *,
        twins: list[Worker] | None = None,
        deliver_twice: Callable[[], bool] | None = None,
    ) -> None:
        """``twins`` (one per worker) and ``deliver_twice`` simulate SQS handing the same
        batch to two consumers at once: when it says so, the twin runs the same event
        concurrently and its answer is ignored, as the second consumer's would be."""
        self._source = source
        self._workers = workers
        self._twins = twins or []
        self._deliver_twice = deliver_twice
        self.twin_deliveries = 0
        self._on_batch = on_batch
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.busy = 0
        #: Receives and deletes SQS answered with an error (each was retried or left to
        #: the visibility timeout).
        self.sqs_errors = 0
        self._lock = threading.Lock()

    def start(self) -> Poller:
        for worker in [*self._workers, *self._twins]:
            worker.start()
        for index, worker in enumerate(self._workers):
            twin = self._twins[index] if index < len(self._twins) else None
            thread = threading.Thread(
                target=self._run, args=(worker, twin), name=f"poller-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, worker: Worker, twin: Worker | None) -> None:
        ahead: queue.Queue[list[dict[str, Any]]] = queue.Queue(maxsize=1)
        receiver = threading.Thread(
            target=self._receive_ahead, args=(ahead,), name="receiver", daemon=True
        )
        receiver.start()
        # Until the receiver stopped and its last batch is settled.
        while receiver.is_alive() or not ahead.empty():
            try:
                messages = ahead.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                invoke: Callable[[dict[str, Any]], dict[str, Any]] = worker.invoke
                if twin is not None and self._deliver_twice and self._deliver_twice():
                    invoke = self._twinned(worker, twin)
                report = self._source.deliver(messages, invoke)
            except (BotoCoreError, ClientError):
                # A delete failed: the messages come back after their visibility timeout.
                self._sqs_error()
                continue
            finally:
                with self._lock:
                    self.busy -= 1
            if self._on_batch:
                self._on_batch(report)
        receiver.join()

    def _receive_ahead(self, ahead: queue.Queue[list[dict[str, Any]]]) -> None:
        """Receive batches and hand them on, one ahead of the worker."""
        while not self._stop.is_set():
            try:
                messages = self._source.receive()
            except (BotoCoreError, ClientError):
                self._sqs_error()
                continue
            if not messages:
                continue
            # Busy from the receive on: the messages are in flight until settled.
            with self._lock:
                self.busy += 1
            while True:
                try:
                    ahead.put(messages, timeout=0.2)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        # Never invoked: SQS delivers them again after the visibility timeout.
                        with self._lock:
                            self.busy -= 1
                        return

    def _sqs_error(self) -> None:
        with self._lock:
            self.sqs_errors += 1
        time.sleep(0.2)  # a moment before the next poll, as an event source backs off

    def _twinned(self, worker: Worker, twin: Worker) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                self.twin_deliveries += 1
            second = threading.Thread(target=self._quietly, args=(twin, event), daemon=True)
            second.start()
            try:
                return worker.invoke(event)
            finally:
                second.join()

        return invoke

    @staticmethod
    def _quietly(worker: Worker, event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            worker.invoke(event)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        for worker in [*self._workers, *self._twins]:
            worker.stop()
