"""The function's logs of a full run, failures included, hold no secret and no card number."""

from __future__ import annotations

import json
import re

from chargeq_local.customers import create_pool
from chargeq_local.runner import STRIPE_API_KEY, RunOptions, local_stack, run_workload
from chargeq_local.workload import Message, Workload, build_workload
from stripe_emulator import EmulatorControl
from tests.samples import charge_body

CARD = "4242424242424242"
OTHER_CARD = "4000056655665556"
# 13 to 19 digits, optionally grouped by spaces or dashes: anything that looks like a PAN.
CARD_LIKE = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?!\d)")


def card_numbers_in(text: str) -> list[str]:
    """Luhn-valid digit runs, except EMF timestamps and UUIDs (Lambda request IDs), whose
    digit groups can look like a grouped card number."""
    text = re.sub(r'"Timestamp":\d+', "", text)
    text = re.sub(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", "", text)
    return [m for m in CARD_LIKE.findall(text) if luhn_valid(re.sub(r"\D", "", m))]


def test_the_card_detector_finds_cards():
    assert card_numbers_in(f"detail {CARD} and 4000 0566 5566 5556") != []
    assert card_numbers_in('{"Timestamp":1795925916681,"StripeLatency":[55.2498340002785]}') == []
    assert card_numbers_in('"function_request_id":"17647666-9906-4572-8a1b-0c2d3e4f5a6b"') == []


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_logs_of_a_run_with_failures_leak_no_key_and_no_card_number(tmp_path):
    # GIVEN a workload whose poison carries card numbers in values, keys and broken JSON
    with local_stack(tmp_path, seed=11) as stack:
        workload = build_workload(30, 11, create_pool(stack.stripe_url, STRIPE_API_KEY))
        _add_leaky_poison(workload)
        # AND Stripe fails now and then (the error paths log too)
        control = EmulatorControl(stack.stripe_url)
        control.add_fault({"kind": "rate_limit", "probability": 0.1})
        control.add_fault({"kind": "drop_after_commit", "probability": 0.1})
        report = run_workload(stack, workload, RunOptions(seed=11, progress=False))
    # WHEN the function's logs are read
    logs = (tmp_path / "function.log").read_text()
    # THEN the run was real and complete, and the logs hold neither the key nor a card
    assert report.invariants_hold, report.problems
    assert '"dead-lettered"' in logs or "dead-lettered" in logs
    assert STRIPE_API_KEY not in logs
    assert "sk_test" not in logs
    assert card_numbers_in(logs) == []


def _add_leaky_poison(workload: Workload) -> None:
    leaky = charge_body("leak-1", customer="cus_x", amount=5, payment_method=..., card_number=CARD)
    workload.messages += [
        Message(json.dumps(leaky), poison=True),
        Message(json.dumps(leaky | {"request_id": "leak-2", OTHER_CARD: "cvc 123"}), poison=True),
        Message('{"request_id": "leak-3", "pan": "' + CARD + '"', poison=True),
    ]
    workload.dead_letters.update({"contract_violation": 2, "invalid_json": 1})
