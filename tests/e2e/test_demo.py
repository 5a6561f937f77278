"""The demo end to end: the real handler in worker processes, moto over HTTP, the emulator."""

from __future__ import annotations

import json

from chargeq.cli import main
from chargeq.settings import PipelineSettings
from chargeq_local.demo import run_demo


def test_demo_charges_each_request_once_and_accounts_for_all(tmp_path):
    # GIVEN a small but complete mix (declines, duplicates, conflicts, poison, Stripe faults)
    # WHEN the demo runs it through the local pipeline
    report = run_demo(requests=40, seed=3, progress=False, logs=tmp_path)
    # THEN every request is charged at most once and ends in a known state
    assert report.invariants_hold, report.problems
    assert report.double_charges == 0
    assert report.lost == 0
    # (a bank debit still processing at the end is pending: its own state, never charged)
    accounted = report.charged + report.declined + report.pending
    assert accounted + sum(report.dead_letters.values()) >= 40
    # one PaymentIntent per request, but a soft decline leaves one per attempt (each attempt
    # under its own key), so at most soft_decline_attempts for a declined request
    extra_attempts = PipelineSettings().soft_decline_attempts - 1
    assert accounted <= report.payment_intents <= accounted + extra_attempts * report.declined
    # AND the outcome side: the ledger agrees with Stripe for every request, every state
    # change reached the producer's subscription, nothing else did; the bank debits'
    # pending ended charged by Stripe's webhook
    outcomes = report.outcomes
    assert outcomes is not None
    assert outcomes.holds, outcomes.problems
    assert outcomes.ledger_mismatches == outcomes.unpublished == outcomes.phantom_events == 0
    assert outcomes.ledger_items >= accounted
    kinds = outcomes.events_by_kind
    assert kinds.get("charge.charged", 0) >= report.charged
    assert kinds.get("charge.declined", 0) == report.declined
    assert kinds.get("charge.pending", 0) >= 1
    assert outcomes.settled.get("pending -> charged", 0) == kinds["charge.pending"]
    assert "ledger disagrees with Stripe (must be 0)" in report.render()
    # AND the workers' logs hold the structured outcome lines and the EMF metrics
    logs = (tmp_path / "function.log").read_text()
    assert '"message":"charge charged"' in logs
    for metric in ("ChargeSucceeded", "ChargeDeclined", "PoisonMessage", "StripeLatency"):
        assert f'"{metric}"' in logs


def test_demo_command_prints_json_and_exits_zero(capsys):
    status = main(["demo", "-n", "15", "--seed", "5", "--quiet", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["invariants_hold"] is True
    assert report["requests"] == 15
    assert report["outcomes"]["ledger_mismatches"] == 0
    assert report["outcomes"]["events_by_kind"]
