"""``chargeq demo``: the whole pipeline on this machine, checked end to end.

A realistic mix of requests (declines, repeats, payload conflicts, poison) goes through the
producer client into the local pipeline while Stripe fails now and then; the run ends with
the invariants checked: no double charge, nothing lost.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chargeq_local.customers import create_pool
from chargeq_local.report import RunReport
from chargeq_local.run_logs import RunLogs
from chargeq_local.runner import STRIPE_API_KEY, RunOptions, local_stack, run_workload
from chargeq_local.workload import build_workload
from stripe_emulator import EmulatorControl


def run_demo(
    *, requests: int = 300, seed: int = 7, progress: bool = True, logs: Path | None = None
) -> RunReport:
    """The main job: N requests through the local pipeline, with Stripe faults mixed in."""
    with RunLogs("chargeq-demo-", logs) as run_logs:
        # A sandbox's rate limits, as the demo's test-mode key would meet at Stripe.
        with local_stack(run_logs.path, seed=seed, stripe_rate_limits="sandbox") as stack:
            # Customers and cards first, through the Stripe API, before any fault is armed.
            workload = build_workload(requests, seed, create_pool(stack.stripe_url, STRIPE_API_KEY))
            if progress:
                print(
                    f"chargeq demo: {requests} requests ({len(workload.messages)} messages), "
                    f"seed {seed}; logs in {run_logs.path} (kept if the run fails)",
                    file=sys.stderr,
                )
            control = EmulatorControl(stack.stripe_url)
            # A few of Stripe's failures; the SDK's own retries absorb most of them.
            control.add_fault({"kind": "rate_limit", "probability": 0.02})
            control.add_fault({"kind": "server_error_before", "probability": 0.01})
            control.add_fault({"kind": "drop_after_commit", "probability": 0.02})
            report = run_workload(stack, workload, RunOptions(seed=seed, progress=progress))
        if not report.invariants_hold:
            run_logs.keep()
        return report
