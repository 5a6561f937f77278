"""Requests pending too long: the ledger's sparse pending index on moto's DynamoDB, and the
scheduled check that counts them and publishes ``PendingTooLong``.

The index holds an item only while both its key attributes are present (a sparse index:
docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html),
so the test reads it with a real Query through boto3 against moto's table, created with
the local runtime's definition (the same key, indexes and stream as the stack's; a test in
tests/infra keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chargeq_local.resources import ledger_table_definition
from ledger.facts import Fact, Source
from ledger.metric_names import LedgerMetric
from ledger.states import State
from ledger.store import PENDING_INDEX, LedgerTable
from pending_check.handler import check, metrics

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TABLE = "chargeq-test-ledger"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**ledger_table_definition(TABLE))
        yield client


@pytest.fixture
def ledger(dynamodb: Any) -> LedgerTable:
    return LedgerTable(dynamodb, TABLE)


def fact(request_id: str, state: State, at: datetime, **fields: Any) -> Fact:
    return Fact(
        request_id=request_id,
        state=state,
        source=Source.CHARGE_RECORD,
        at=at,
        payment_intent_id=fields.pop("payment_intent_id", f"pi_{request_id}"),
        **fields,
    )


def in_the_index(dynamodb: Any) -> dict[str, str]:
    """Every item of the pending index: request_id -> pending_since (a real Query)."""
    answer = dynamodb.query(
        TableName=TABLE,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pending_partition = :p",
        ExpressionAttributeValues={":p": {"S": "pending"}},
    )
    return {item["request_id"]["S"]: item["pending_since"]["S"] for item in answer["Items"]}


def test_a_request_is_in_the_pending_index_exactly_while_it_is_pending(
    ledger: LedgerTable, dynamodb: Any
) -> None:
    # GIVEN a dead-lettered request: not pending
    assert ledger.apply(fact("r-1", State.DEAD_LETTERED, T0, reason="retries_exhausted"))
    assert in_the_index(dynamodb) == {}
    # WHEN a redrive makes it pending
    assert ledger.apply(fact("r-1", State.PENDING, T0 + timedelta(minutes=1)))
    # THEN it is in the index, since the time it became pending
    assert in_the_index(dynamodb) == {"r-1": "2026-03-01T12:01:00.000Z"}
    # WHEN a late, repeated pending fact arrives, nothing moves
    assert not ledger.apply(fact("r-1", State.PENDING, T0 + timedelta(days=2)))
    assert in_the_index(dynamodb) == {"r-1": "2026-03-01T12:01:00.000Z"}
    # WHEN its webhook settles it
    assert ledger.apply(fact("r-1", State.CHARGED, T0 + timedelta(days=1)))
    # THEN it leaves the index, and the item keeps no trace of the index's keys
    assert in_the_index(dynamodb) == {}
    item = ledger.get("r-1")
    assert item is not None and item["state"] == "charged"
    assert "pending_since" not in item and "pending_partition" not in item


def test_a_failed_payment_takes_the_request_out_of_the_index(
    ledger: LedgerTable, dynamodb: Any
) -> None:
    assert ledger.apply(fact("r-2", State.PENDING, T0, payment_intent_id="pi_x"))
    # A failure of another PaymentIntent (a soft-declined attempt's) changes nothing
    assert not ledger.apply(fact("r-2", State.FAILED, T0, payment_intent_id="pi_other"))
    assert set(in_the_index(dynamodb)) == {"r-2"}
    assert ledger.apply(fact("r-2", State.FAILED, T0, payment_intent_id="pi_x"))
    assert in_the_index(dynamodb) == {}


def test_charged_and_declined_requests_never_enter_the_index(
    ledger: LedgerTable, dynamodb: Any
) -> None:
    assert ledger.apply(fact("r-3", State.CHARGED, T0))
    assert ledger.apply(fact("r-4", State.DECLINED, T0, error_code="card_declined"))
    assert in_the_index(dynamodb) == {}


def test_the_check_counts_only_requests_pending_longer_than_the_days_and_publishes_it(
    ledger: LedgerTable,
) -> None:
    # GIVEN requests pending for 6 days, 5 days and a minute, 1 day, and one settled
    now = T0 + timedelta(days=10)
    ledger.apply(fact("old-1", State.PENDING, now - timedelta(days=6)))
    ledger.apply(fact("old-2", State.PENDING, now - timedelta(days=5, minutes=1)))
    ledger.apply(fact("young", State.PENDING, now - timedelta(days=1)))
    ledger.apply(fact("settled", State.PENDING, now - timedelta(days=8)))
    ledger.apply(fact("settled", State.CHARGED, now - timedelta(days=7)))
    metrics.clear_metrics()
    # WHEN the check runs with 5 days
    report = check(ledger, older_than=timedelta(days=5), at=now)
    # THEN it counts the two older than 5 days, oldest first, and publishes the gauge
    assert report.count == 2
    assert [item["request_id"] for item in report.oldest] == ["old-1", "old-2"]
    assert report.cutoff == "2026-03-06T12:00:00.000Z"
    assert metrics.metric_set[LedgerMetric.PENDING_TOO_LONG]["Value"] == [2.0]


def test_the_check_publishes_zero_when_nothing_is_pending_too_long(ledger: LedgerTable) -> None:
    # A gauge of zero, not silence: the alarm's hour always has a point while the check runs.
    ledger.apply(fact("young", State.PENDING, T0))
    metrics.clear_metrics()
    report = check(ledger, older_than=timedelta(days=5), at=T0 + timedelta(days=1))
    assert report.count == 0 and report.oldest == []
    assert metrics.metric_set[LedgerMetric.PENDING_TOO_LONG]["Value"] == [0.0]


def test_the_check_pages_through_the_index(ledger: LedgerTable, dynamodb: Any) -> None:
    # GIVEN more pending requests than one Query page returns (Limit forces pages here)
    for number in range(25):
        ledger.apply(fact(f"p-{number:02}", State.PENDING, T0 + timedelta(seconds=number)))
    pages = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = 10  # a botocore hook, as a full page would end one

    def count_page(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(len(parsed["Items"]))

    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", small_pages)
    dynamodb.meta.events.register("after-call.dynamodb.Query", count_page)
    # WHEN the check runs THEN it counts them all, across pages
    report = check(ledger, older_than=timedelta(days=1), at=T0 + timedelta(days=3))
    assert report.count == 25 and len(report.oldest) == 10
    assert pages == [10, 10, 5]
