"""``chargeq demo``: the whole pipeline on this machine, checked end to end.

A realistic mix of requests (declines, repeats, payload conflicts, poison) goes through the
producer client into the local pipeline while Stripe fails now and then; the run ends with
the invariants checked: no double charge, nothing lost.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from chargeq_local.customers import create_pool
from chargeq_local.report import RunReport
from chargeq_local.runner import STRIPE_API_KEY, RunOptions, local_stack, run_workload
from chargeq_local.workload import build_workload
from stripe_emulator import EmulatorControl


def run_demo(
    *, requests: int = 300, seed: int = 7, progress: bool = True, logs: Path | None = None
) -> RunReport:
    """The main job: N requests through the local pipeline, with Stripe faults mixed in."""
    with tempfile.TemporaryDirectory(prefix="chargeq-demo-") as scratch:
        log_dir = logs or Path(scratch)
        with local_stack(log_dir, seed=seed) as stack:
            # Customers and cards first, through the Stripe API, before any fault is armed.
            workload = build_workload(requests, seed, create_pool(stack.stripe_url, STRIPE_API_KEY))
            if progress:
                print(
                    f"chargeq demo: {requests} requests ({len(workload.messages)} messages), "
                    f"seed {seed}; logs in {log_dir}",
                    file=sys.stderr,
                )
            control = EmulatorControl(stack.stripe_url)
            # A few of Stripe's failures; the SDK's own retries absorb most of them.
            control.add_fault({"kind": "rate_limit", "probability": 0.02})
            control.add_fault({"kind": "server_error_before", "probability": 0.01})
            control.add_fault({"kind": "drop_after_commit", "probability": 0.02})
            return run_workload(stack, workload, RunOptions(seed=seed, progress=progress))
