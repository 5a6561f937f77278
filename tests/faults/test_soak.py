"""A bounded version of ``make chaos``: every fault kind mixed, the invariants at the end."""

from __future__ import annotations

from chargeq_soak.soak import run_soak


def test_bounded_soak_keeps_every_invariant(tmp_path):
    # GIVEN a seeded soak: Stripe faults, kills, throttling, twin and repeated deliveries,
    # requests crashing until dead-lettered, Stripe's keys pruned, then a redrive
    report = run_soak(requests=80, seed=4, progress=False, logs=tmp_path)
    # THEN faults really were injected, and no request was charged twice or lost
    assert sum(report.faults.values()) > 10
    assert report.redriven >= 1
    assert report.run.double_charges == 0
    assert report.run.lost == 0
    assert report.run.invariants_hold, report.run.problems
    # AND the outcome side's faults were injected: duplicated and held-back webhooks
    # (emulator rules), forged webhooks (each refused with a 400), consumers killed
    # between read and write, and both streams replayed from TRIM_HORIZON
    for kind in ("webhook_duplicate", "webhook_delay", "forged_webhook_stale", "stream_replay"):
        assert report.faults[kind] >= 1, kind
    assert report.faults["crash_before_ledger_write"] + report.faults["crash_before_put_events"]
    assert report.forged_accepted == 0
    # AND the ledger agrees with Stripe, every change was published, nothing else was
    outcomes = report.run.outcomes
    assert outcomes is not None and outcomes.holds, outcomes
    assert outcomes.duplicate_events > 0  # the replay published every change again
    assert report.invariants_hold
