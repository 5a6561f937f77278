"""The message contract: what a producer may send and how the handler reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from charges.contract import ChargeLimits, ChargeRequest, json_schema, parse_charge_request
from charges.outcomes import PoisonMessage, Reason
from tests.samples import charge_body

SCHEMA_FILE = Path(__file__).parents[2] / "schema" / "charge-request.v1.json"
LIMITS = ChargeLimits(max_amount=1_000_000, currencies=frozenset({"usd", "eur"}))


def body(**overrides: Any) -> str:
    """A charge request's JSON text; an override of ``...`` leaves the field out."""
    fields = {"request_id": "order-42:charge.1", "customer": "cus_123", "amount": 1999}
    return json.dumps(charge_body(**(fields | overrides)))


def poison_reason(raw: str) -> Reason:
    with pytest.raises(PoisonMessage) as caught:
        parse_charge_request(raw, LIMITS)
    return caught.value.reason


def test_valid_request_parses_with_optional_fields():
    # GIVEN a request using every optional field
    raw = body(payment_method="pm_card_visa", description="Order 42", metadata={"order": "42"})
    # WHEN it is parsed
    request = parse_charge_request(raw, LIMITS)
    # THEN every field is kept as sent
    assert request.request_id == "order-42:charge.1"
    assert request.payment_method == "pm_card_visa"
    assert request.metadata == {"order": "42"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", Reason.INVALID_JSON),
        ("", Reason.INVALID_JSON),
        ("[1, 2]", Reason.CONTRACT_VIOLATION),
        ('"a string"', Reason.CONTRACT_VIOLATION),
        (body(request_id=...), Reason.MISSING_REQUEST_ID),
        (body(request_id=""), Reason.CONTRACT_VIOLATION),
        (body(request_id="has space"), Reason.CONTRACT_VIOLATION),
        (body(request_id="x" * 201), Reason.CONTRACT_VIOLATION),
        (body(customer="acct_1"), Reason.CONTRACT_VIOLATION),
        (body(amount=0), Reason.CONTRACT_VIOLATION),
        (body(amount=-5), Reason.CONTRACT_VIOLATION),
        (body(amount=10.5), Reason.CONTRACT_VIOLATION),
        (body(amount="100"), Reason.CONTRACT_VIOLATION),
        (body(amount=True), Reason.CONTRACT_VIOLATION),
        (body(amount=10**20), Reason.CONTRACT_VIOLATION),
        (body(currency="USD"), Reason.CONTRACT_VIOLATION),
        (body(version=2), Reason.CONTRACT_VIOLATION),
        (body(version=...), Reason.CONTRACT_VIOLATION),
        (body(unexpected="field"), Reason.CONTRACT_VIOLATION),
        (body(payment_method="card_123"), Reason.CONTRACT_VIOLATION),
        (body(metadata={"request_id": "other"}), Reason.CONTRACT_VIOLATION),
        (body(metadata={"k": "v" * 501}), Reason.CONTRACT_VIOLATION),
        (body(amount=1_000_001), Reason.LIMIT_EXCEEDED),
        (body(currency="gbp"), Reason.LIMIT_EXCEEDED),
    ],
)
def test_bad_bodies_are_poison_with_a_reason(raw: str, reason: Reason):
    assert poison_reason(raw) is reason


def test_poison_detail_names_fields_but_never_echoes_values():
    # GIVEN a card number smuggled into an unknown field's name and a bad field's value
    raw = body(customer="4242424242424242", **{"4000056655665556": "x"})
    # WHEN it is rejected
    with pytest.raises(PoisonMessage) as caught:
        parse_charge_request(raw, LIMITS)
    # THEN the detail says what is wrong without repeating either number
    detail = caught.value.detail
    assert "customer" in detail
    assert "4242424242424242" not in detail
    assert "4000056655665556" not in detail


def test_published_schema_matches_the_model():
    # The file producers in other languages use must be regenerated when the model changes:
    #   python -m chargeq.schema > schema/charge-request.v1.json
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


def test_schema_requires_the_contract_fields_and_forbids_others():
    schema = json_schema()
    assert set(schema["required"]) == {"version", "request_id", "customer", "amount", "currency"}
    assert schema["additionalProperties"] is False


def test_model_round_trips_through_json():
    request = ChargeRequest.model_validate_json(body())
    assert parse_charge_request(request.model_dump_json(exclude_none=True), LIMITS) == request
