"""The outcome side of a local stack, running for as long as the stack runs.

The two stream consumers (``stream_consumers``), a producer's subscriber on the bus's queue
(``subscription``), and the webhook endpoint the emulator sends Stripe's events to
(``webhook_endpoint``, a child server started by ``runner.local_stack``). ``wait_drained``
is what a run does before its final check: every stream read to its end, every webhook
delivered or given up by the emulator, every bank debit settled, the subscription queue
empty, all at once and twice in a row.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from chargeq_local.stream_consumers import StreamConsumer
from chargeq_local.subscription import OutcomeSubscriber, ReceivedEvent
from stripe_emulator import EmulatorControl

#: Seconds between two readings of the drain's conditions.
DRAIN_CHECK_SECONDS = 0.5


@dataclass
class OutcomePipeline:
    """The running consumers and subscriber, and where the webhook endpoint listens."""

    consumers: list[StreamConsumer]
    subscriber: OutcomeSubscriber
    webhook_url: str
    control: EmulatorControl
    #: Seconds the last ``wait_drained`` took, and whether it ran out of time.
    drain_seconds: float = 0.0
    drained: bool = True

    def events(self) -> list[ReceivedEvent]:
        return self.subscriber.events()

    def replay_streams(self) -> None:
        """Every consumer re-reads its stream from ``TRIM_HORIZON``."""
        for consumer in self.consumers:
            consumer.replay()

    def stop(self) -> None:
        self.subscriber.stop()
        for consumer in self.consumers:
            consumer.stop()

    def counts(self) -> dict[str, Any]:
        """Invocations, records, failed invocations and replays per consumer."""
        return {consumer.name: consumer.counts for consumer in self.consumers}

    def wait_drained(self, timeout: float, progress: bool = True) -> bool:
        """Wait until the streams, webhooks and subscription are drained; False on timeout.

        Prints what it waits for every few seconds when ``progress`` is on.
        """
        started = time.monotonic()
        last_line = 0.0
        previous: tuple[Any, ...] | None = None
        self.drained = False
        while time.monotonic() - started < timeout:
            state = self._state()
            if state[0] and state == previous:
                self.drained = True
                break
            previous = state
            now = time.monotonic()
            if progress and now - last_line >= 3:
                last_line = now
                print(
                    f"  waiting for outcomes {now - started:4.1f}s: streams "
                    f"{'read' if state[1] else 'reading'}, webhooks waiting {state[3]}, "
                    f"bank debits settling {state[4]}, subscription "
                    f"{'empty' if state[2] else 'receiving'}",
                    file=sys.stderr,
                    flush=True,
                )
            time.sleep(DRAIN_CHECK_SECONDS)
        self.drain_seconds = time.monotonic() - started
        return self.drained

    def _state(self) -> tuple[Any, ...]:
        """(drained, streams read, subscription empty, webhooks waiting, settling,
        delivery attempts, stream records, events received): equal twice in a row with
        drained set means done (nothing moved in between)."""
        webhooks = self.control.ledger().get("webhooks", {})
        waiting = int(webhooks.get("waiting", 0))
        settling = int(webhooks.get("settling", 0))
        attempts = int(webhooks.get("delivered", 0)) + int(webhooks.get("failed_attempts", 0))
        streams = all(consumer.caught_up for consumer in self.consumers)
        subscription = self.subscriber.caught_up
        done = streams and subscription and waiting == 0 and settling == 0
        records = sum(consumer.counts.records for consumer in self.consumers)
        received = len(self.subscriber.events())
        return (done, streams, subscription, waiting, settling, attempts, records, received)
