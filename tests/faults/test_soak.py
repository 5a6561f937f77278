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
