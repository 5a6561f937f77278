"""The charge protocol's model (model/charge_protocol.pml) refutes each rule switched off.

Each test compiles SPIN's verifier with one rule of the protocol (docs/protocol.md)
disabled by a ``-D`` macro and expects the shortest counterexample, told as a story. The
exhaustive searches over the intact protocol run in ``make verify`` (about a minute).
"""

from __future__ import annotations

import shutil

import pytest

from chargeq_model.checks import MUTATIONS, REDRIVE_CHAIN
from chargeq_model.spin import Check, Result, run
from chargeq_model.story import tell

pytestmark = pytest.mark.skipif(
    shutil.which("spin") is None, reason="spin is not installed: `make verify` installs it"
)

DOUBLE_CHARGE = "VIOLATION: DOUBLE CHARGE"


def refute(check: Check) -> Result:
    result = run(check)
    print("\n".join(result.story))  # shown by pytest when the test fails
    assert result.errors == 1, result.output[-2000:]
    return result


def test_without_the_look_up_a_takeover_after_a_day_charges_twice() -> None:
    # GIVEN a worker killed after Stripe charged, and Stripe's key pruned a day later
    # WHEN the next delivery takes the claim over but does not look Stripe up
    story = refute(MUTATIONS["LOOKUP_OFF"]).story
    # THEN it creates a second PaymentIntent under the pruned key
    assert story[-1].startswith(DOUBLE_CHARGE)
    assert any("takeover" in line for line in story)
    assert any("24 hours pass" in line for line in story)


def test_without_the_payload_comparison_a_takeover_returns_another_payloads_charge() -> None:
    # GIVEN payload A charged by a worker that died, and payload B under the same request_id
    # WHEN B takes the claim over (Powertools skips validation) and keeps A's PaymentIntent
    story = refute(MUTATIONS["NO_PAYLOAD_COMPARE"]).story
    # THEN B's stored outcome describes a PaymentIntent made for A
    assert story[-1].startswith("VIOLATION: WRONG OUTCOME")
    assert any("payload B" in line and "takeover" in line for line in story)


def test_a_key_numbered_by_delivery_races_an_orphaned_request() -> None:
    # GIVEN a request still executing at Stripe after its worker died
    # WHEN the next delivery looks up too early and charges under a key of its own
    story = refute(MUTATIONS["KEY_PER_DELIVERY"]).story
    # THEN both requests create a PaymentIntent
    assert story[-1].startswith(DOUBLE_CHARGE)
    assert any("attempt-1" in line for line in story)


def test_deleting_the_record_on_failure_loses_the_evidence() -> None:
    # GIVEN a charge whose answer was lost, the attempt failed and deleted its record
    # WHEN the next delivery comes after Stripe pruned the key
    story = refute(MUTATIONS["RELEASE_DELETES"]).story
    # THEN it sees a fresh record, skips the look-up and charges again
    assert story[-1].startswith(DOUBLE_CHARGE)
    assert sum("fresh record" in line for line in story) == 2


def test_todays_look_up_decision_misses_the_move_task_redrive() -> None:
    # GIVEN every delivery dies after Stripe charged, so the redrive policy moves the
    # message to the DLQ without chargeq-* attributes (issue 12, item 1)
    # WHEN an operator redrives it more than 24 hours later with StartMessageMoveTask
    story = refute(MUTATIONS["TODAY_LOOKUP"]).story
    # THEN receive count 1, a new SentTimestamp and no attribute mean no look-up: charged twice
    assert story[-1].startswith(DOUBLE_CHARGE)
    assert any("redrive policy moves" in line for line in story)
    assert any("StartMessageMoveTask" in line for line in story)


def test_a_second_redrive_of_an_unclaimed_message_outlives_the_record() -> None:
    """Why records are kept for the life of the pipeline (docs/protocol.md, a fixed finding).

    With a finite expiry (queue + DLQ retention after the last claim, the first protocol's
    argument), a redriven message whose deliveries all die before the claim goes back to
    the DLQ with a fresh retention; its second redrive can come after DynamoDB's TTL deleted
    the record, and the claim looks fresh.
    """
    story = refute(REDRIVE_CHAIN).story
    assert story[-1].startswith(DOUBLE_CHARGE)
    assert any("TTL deletes" in line for line in story)
    assert sum("StartMessageMoveTask" in line for line in story) == 2


def test_the_story_follows_each_delivery_and_names_the_violation() -> None:
    # GIVEN the printf lines of a replayed trail
    replay = "\n".join(
        [
            "STORY send 0 v 0",
            "STORY 0 deliver 0 v 0 rc 1",
            "STORY 0 claim 0",
            "STORY 0 charge key 0",
            "STORY 0 killed",
            "STORY stripe 0 begin key 0 v 0",
            "STORY stripe 0 made pi 0 status 1 key 0",
            "STORY day passes",
            "spin: text of failed assertion: assert((taken==0))",
        ]
    )
    # WHEN it is told
    story = tell(replay)
    # THEN one line per run of steps, in order, ending with what went wrong
    assert story == [
        "producer sends message 1 (payload A)",
        "delivery 1 (message 1, payload A, receive 1, worker 0): claim (fresh record: "
        "no look-up), charge with key chargeq-v1:r, worker killed",
        "  Stripe, for delivery 1: starts key chargeq-v1:r (payload A), creates pi_1 "
        "succeeded, saved for key chargeq-v1:r",
        "more than 24 hours pass: Stripe prunes its idempotency keys",
        "VIOLATION: DOUBLE CHARGE: a second PaymentIntent of the request takes money",
    ]
