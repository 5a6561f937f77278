"""The local run's verdict: a run that failed most of its work is never called OK."""

from __future__ import annotations

from chargeq_local.report import check
from chargeq_local.workload import Workload


def workload_of(requests: int) -> Workload:
    return Workload(outcomes={f"r{i}": "charged" for i in range(requests)})


def test_a_few_good_requests_out_of_deliveries_are_known_not_lost() -> None:
    # GIVEN 40 good requests, 38 charged and 2 dead-lettered after their retries ran out
    work = workload_of(40)
    records = {f"r{i}": {"state": "charged"} for i in range(38)}
    dead: list[tuple[str, str | None]] = [("retries_exhausted", "r38"), ("redrive_policy", "r39")]
    # WHEN the run is checked
    report = check(
        work,
        records=records,
        dead_letters=dead,
        succeeded_by_request={f"r{i}": 1 for i in range(38)},
        payment_intents=38,
        wall_seconds=1.0,
    )
    # THEN it holds: the two are in the DLQ with a reason, within what faults explain
    assert report.gave_up == 2
    assert report.invariants_hold, report.problems


def test_a_run_whose_good_requests_all_ended_in_the_dlq_is_not_ok() -> None:
    # GIVEN every delivery failed (a broken worker) and the redrive policy moved every message
    work = workload_of(40)
    dead: list[tuple[str, str | None]] = [("redrive_policy", f"r{i}") for i in range(40)]
    # WHEN the run is checked
    report = check(
        work,
        records={},
        dead_letters=dead,
        succeeded_by_request={},
        payment_intents=0,
        wall_seconds=1.0,
    )
    # THEN nothing is lost or charged twice, yet the verdict is a failure that says why
    assert report.lost == 0 and report.double_charges == 0
    assert report.gave_up == 40
    assert not report.invariants_hold
    assert any("ended in the DLQ" in problem for problem in report.problems)
