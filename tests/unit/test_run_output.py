"""What the local runs tell the reader: logs that exist afterwards, and a soak table that
explains itself."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from chargeq_local.report import RunReport
from chargeq_local.run_logs import RunLogs
from chargeq_soak.soak import COUNTS_NOTE, SoakReport, render, verdict


def test_logs_of_a_successful_run_are_removed(capsys: pytest.CaptureFixture[str]) -> None:
    with RunLogs("chargeq-test-") as logs:
        (logs.path / "function.log").write_text("ok")
    assert not logs.path.exists()
    assert capsys.readouterr().err == ""


def test_logs_of_a_failed_run_are_kept_and_their_place_said(capsys) -> None:
    # GIVEN a run whose invariants broke
    with RunLogs("chargeq-test-") as logs:
        (logs.path / "function.log").write_text("double charge")
        logs.keep()
    # THEN its logs are still there, and the run said where
    assert (logs.path / "function.log").read_text() == "double charge"
    assert f"the run's logs are kept in {logs.path}" in capsys.readouterr().err


def test_logs_of_a_run_that_raised_are_kept(capsys) -> None:
    with pytest.raises(RuntimeError), RunLogs("chargeq-test-") as logs:
        raise RuntimeError("moto did not start")
    assert logs.path.is_dir()
    assert str(logs.path) in capsys.readouterr().err


def test_a_chosen_log_directory_is_never_removed(tmp_path: Path) -> None:
    with RunLogs("chargeq-test-", tmp_path / "mine") as logs:
        pass
    assert logs.path == tmp_path / "mine" and logs.path.is_dir()


def soak_report(handler: str, dead_letters: dict[str, int], double_charges: int = 0) -> SoakReport:
    run = RunReport(
        requests=10,
        messages=11,
        payment_intents=9,
        charged=8,
        declined=1,
        double_charges=double_charges,
        lost=0,
        wrong_outcome=0,
        dead_letters=dead_letters,
        wall_seconds=1.0,
    )
    if double_charges:
        run.problems.append(f"{double_charges} request(s) charged twice")
    return SoakReport(handler, run, Counter({"rate_limit": 1}), redriven=2)


def test_the_soak_table_keeps_each_kind_of_row_together() -> None:
    # GIVEN a DLQ reason only the naive job has
    table = render(
        [
            soak_report("chargeq", {"invalid_json": 1}),
            soak_report("naive", {"redrive_policy": 2}, 3),
        ]
    )
    labels = [line.split("  ")[1].strip() for line in table.splitlines()[1:]]
    # THEN it sits with the other DLQ rows, before the faults
    assert abs(labels.index("DLQ: redrive_policy") - labels.index("DLQ: invalid_json")) == 1
    assert labels.index("DLQ: redrive_policy") < labels.index("fault: rate_limit")


def test_each_handler_gets_a_verdict_and_the_counts_are_explained() -> None:
    assert verdict(soak_report("chargeq", {})) == (
        "chargeq: OK - every request charged at most once and accounted for; the ledger "
        "agrees with Stripe, every change published, no forged webhook accepted"
    )
    assert verdict(soak_report("chargeq", {}, 1)).startswith("chargeq: FAILED - 1 request(s)")
    assert verdict(soak_report("naive", {}, 3)).startswith("naive: charged 3 request(s) twice")
    assert "DLQ rows count what is left in the DLQ at the end" in COUNTS_NOTE
