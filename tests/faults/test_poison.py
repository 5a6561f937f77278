"""Scenario 11: poison bodies from a property-based generator, over HTTP.

Invalid JSON, wrong types, huge bodies, odd unicode, missing and extra fields, zero,
negative and overflowing amounts, bad currencies and IDs, JSON that is not an object. Each
batch carries one good request beside the poison: the good one must be charged, every
poison message must end in the DLQ with a reason, and none may reach Stripe.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeq.dlq import peek
from charges.outcomes import Reason
from tests.faults.conftest import SHOP, Faults, FaultsFactory
from tests.samples import charge_body

#: Unicode surrogates (category Cs), which no message body can carry.
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

# SQS accepts only these characters in a message body.
SQS_TEXT = st.text(
    st.characters(
        min_codepoint=0x20, exclude_categories=SURROGATES, exclude_characters="\ufffe\uffff"
    )
    | st.sampled_from("\t\n\r"),
    max_size=60,
)
#: A valid body for the customer the fault suite made through the Stripe API (filled in by
#: the ``good_body`` fixture; the test's own code stays as it was, so Hypothesis's
#: derandomized examples do too). Each use sets its own request_id.
GOOD: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def good_body(shop: None) -> None:
    GOOD.update(
        charge_body(
            "-", customer=SHOP["customer"], amount=700, payment_method=SHOP["payment_method"]
        )
    )


POISON_REASONS = {
    Reason.INVALID_JSON,
    Reason.CONTRACT_VIOLATION,
    Reason.LIMIT_EXCEEDED,
    Reason.MISSING_REQUEST_ID,
}


def _object_with(field: str, value: Any) -> str:
    return json.dumps(GOOD | {"request_id": "poison-x", field: value})


bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=0),
    st.integers(min_value=10**8, max_value=10**30),
    # A whole number written as a float (1.0) is an integer to JSON Schema and the contract.
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
    SQS_TEXT,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

poison_bodies = st.one_of(
    # not JSON at all (filtered so a body that happens to be JSON is drawn elsewhere)
    SQS_TEXT.filter(lambda text: not _is_json(text)).map(lambda text: text or " "),
    # JSON that is not an object
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=4),
        SQS_TEXT,
    ).map(json.dumps),
    # a charge with one field replaced by something it may not be
    st.builds(
        _object_with,
        st.sampled_from(
            [
                "amount",
                "currency",
                "customer",
                "request_id",
                "version",
                "payment_method",
                "metadata",
                "description",
            ]
        ),
        bad_values,
    ),
    # a required field missing
    st.sampled_from(["request_id", "customer", "amount", "currency", "version"]).map(
        lambda field: json.dumps(
            {k: v for k, v in (GOOD | {"request_id": "p"}).items() if k != field}
        )
    ),
    # an unknown field, possibly with an odd unicode name
    st.builds(
        lambda name, value: json.dumps(GOOD | {"request_id": "p", f"x{name}": value}),
        SQS_TEXT,
        bad_values,
    ),
    # over the deployment's limits, or Stripe's
    st.integers(min_value=1_000_001, max_value=10**12).map(lambda a: _object_with("amount", a)),
    st.sampled_from(["eur", "gbp", "USD", "us", "usdd", "💵"]).map(
        lambda c: _object_with("currency", c)
    ),
    # bad IDs: too long, forbidden characters, odd unicode
    st.one_of(
        st.just("r" * 201),
        SQS_TEXT.map(lambda t: f"id {t}"),
        st.sampled_from(["ünïcödé", "id/with/slash", "a" * 201, "😀"]),
    ).map(lambda rid: _object_with("request_id", rid)),
    # huge: a description far over Stripe's 1,000 characters
    st.integers(min_value=1001, max_value=50_000).map(
        lambda size: _object_with("description", "d" * size)
    ),
)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def drain_dead_letters(run: Faults) -> list[str]:
    """Remove and return the DLQ's reasons (each example starts with an empty DLQ)."""
    sqs = run.stack.client("sqs")
    reasons = []
    while messages := sqs.receive_message(
        QueueUrl=run.stack.resources.dlq_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    ).get("Messages"):
        for message in messages:
            attribute = message.get("MessageAttributes", {}).get("chargeq-reason", {})
            reasons.append(attribute.get("StringValue", "none"))
            sqs.delete_message(
                QueueUrl=run.stack.resources.dlq_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return reasons


def test_poison_never_reaches_stripe_and_never_blocks_its_batch(faults: FaultsFactory):
    run = faults()
    drain_dead_letters(run)
    total = {"poison": 0, "examples": 0}

    @settings(
        max_examples=135,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(poison_bodies, min_size=8, max_size=9))
    def one_batch(batch: list[str]) -> None:
        total["examples"] += 1
        good_id = f"good-{total['examples']}"
        creates_before = run.stripe.ledger()["requests"]["create"]
        # GIVEN a batch of poison with one good request among it
        run.send(*batch, json.dumps(GOOD | {"request_id": good_id}))
        # WHEN the handler processes it
        reports = run.settle(rounds=5)
        # THEN no invocation crashed, the good request was charged, and only it reached Stripe
        assert all(report.error is None for report in reports)
        assert run.charges(good_id) == {"created": 1, "succeeded": 1}
        assert run.stripe.ledger()["requests"]["create"] == creates_before + 1
        # AND every poison message is in the DLQ with a poison reason
        reasons = drain_dead_letters(run)
        assert len(reasons) == len(batch)
        assert set(reasons) <= POISON_REASONS
        total["poison"] += len(batch)

    one_batch()
    assert total["poison"] >= 1000


def test_poison_naming_a_character_sqs_forbids_is_dead_lettered_at_once(faults: FaultsFactory):
    """Issue 12, item 4. SQS refuses a NUL in a String attribute value (SendMessage, API
    Reference); the worker's SQS client is the strict one, as on AWS. The body itself is
    valid for SQS: JSON escapes the NUL."""
    run = faults()
    drain_dead_letters(run)
    body = json.dumps(GOOD | {"request_id": "nul-field", "x\u0000y": 1})
    run.send(body)
    # WHEN the pipeline processes it
    reports = run.settle(rounds=3)
    # THEN one delivery dead-letters it with its reason, and the body is unchanged
    assert [len(report.failed_message_ids) for report in reports] == [0]
    letters = peek(run.stack.client("sqs"), run.stack.resources.dlq_url)
    assert [(letter.reason, letter.body) for letter in letters] == [("contract_violation", body)]
    assert "x\\u0000y" in letters[0].detail
