"""Stream consumers killed between their read and their write lose nothing.

docs.aws.amazon.com/lambda/latest/dg/with-ddb.html ("Error handling"): when an invocation
fails, Lambda retries the batch (in order, per shard) until it succeeds or the records
expire; a consumer that dies after GetRecords and before its write therefore gets the same
records again. The kills are real (SIGKILL of the consumer's worker process, from botocore
``before-parameter-build`` hooks on the ledger's ``UpdateItem`` and the bus's ``PutEvents``).
"""

from __future__ import annotations

import json
from pathlib import Path

from chargeq_local.runner import STRIPE_API_KEY, PipelineRun, RunOptions, collect, local_stack
from chargeq_local.workload import Message, Workload
from chargeq_soak.faults import (
    CRASH_BEFORE_LEDGER_WRITE,
    CRASH_BEFORE_PUT_EVENTS,
    StreamChaos,
    injected_faults,
)
from stripe_emulator.fixtures import create_customer


def test_consumers_killed_before_their_writes_still_record_and_publish_everything(
    tmp_path: Path,
):
    # GIVEN consumers that die before half of their writes (each record's first try
    # rolls the dice again on every redelivery, so every record gets through in the end)
    chaos = StreamChaos(seed=11, crash_before_ledger_write=0.5, crash_before_put_events=0.5)
    with local_stack(tmp_path, stream_faults=chaos) as stack:
        customer = create_customer(stack.stripe_url, STRIPE_API_KEY)
        workload = Workload()
        for index in range(6):
            request_id = f"crash-{index}"
            body = {
                "version": 1,
                "request_id": request_id,
                "customer": customer.id,
                "payment_method": customer.payment_method,
                "amount": 500 + index,
                "currency": "usd",
            }
            workload.messages.append(Message(json.dumps(body)))
            workload.outcomes[request_id] = "charged"
        # WHEN six charges go through the pipeline
        with PipelineRun(stack, RunOptions(progress=False, redelivery_rate=0.0)) as run:
            run.send(workload)
            run.wait_until_quiet()
        report = collect(stack, workload, 0.0, drain_timeout=90)
    # THEN both consumers were really killed before their writes
    crashes = injected_faults(tmp_path / "chaos.log")
    assert crashes[CRASH_BEFORE_LEDGER_WRITE] >= 1
    assert crashes[CRASH_BEFORE_PUT_EVENTS] >= 1
    # AND the ledger agrees with Stripe, every change was published, nothing else was
    assert report.outcomes is not None
    assert report.outcomes.holds, report.outcomes.problems
    assert report.outcomes.events_by_kind == {"charge.charged": 6}
    assert report.invariants_hold, report.problems
