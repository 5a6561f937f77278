"""``chargeq status`` and ``chargeq outcomes`` against moto, with the real handler, the real
stream consumers and the Stripe emulator.

The stack's outcome log is modelled as the stack makes it: a rule on the outcome bus
(source ``chargeq``) with a CloudWatch Logs target, which delivers each event whole, as
JSON, to the log group (docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html;
moto's EventBridge does the same). Stricter than moto: ``read_outcomes`` sends
CloudWatch Logs' JSON filter pattern, which moto ignores, and checks every event itself.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chargeq.cli import EXIT_BROKEN_PIPE, main
from chargeq.outcomes import follow, read_outcomes, unique
from chargeq_local.streams import StreamReader, streams_client
from ledger.facts import Fact, Source, now
from ledger.states import State
from ledger.store import LedgerTable
from outbox.handler import handle_stream as write_ledger
from outcome_events.handler import EventBus
from outcome_events.handler import handle_stream as publish_outcomes
from tests.harness import Pipeline

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def target(pipeline: Pipeline) -> list[str]:
    return ["--stage", pipeline.settings.stage, "--region", "us-east-1"]


@pytest.fixture
def ledger(pipeline: Pipeline) -> LedgerTable:
    return LedgerTable(pipeline.dynamodb, pipeline.resources.ledger_table_name)


def drain(stream_arn: str, handler: Callable[[dict[str, Any]], Any]) -> None:
    reader = StreamReader(streams_client(boto3), stream_arn)
    while reader.deliver(handler):
        pass


def record_results(pipeline: Pipeline, ledger: LedgerTable) -> None:
    """The ledger writer reads the idempotency table's stream, as Lambda would run it."""
    drain(pipeline.resources.table_stream_arn, lambda event: write_ledger(event, None, ledger))


def status(pipeline: Pipeline, request_id: str, capsys: pytest.CaptureFixture[str]) -> Any:
    assert main(["status", *target(pipeline), request_id]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_reads_the_idempotency_record_until_the_ledger_has_the_request(
    pipeline: Pipeline, ledger: LedgerTable, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a charge the function recorded, not yet read from the stream
    pipeline.send(pipeline.charge_body("ok-1", amount=4200))
    pipeline.drain()
    # WHEN its status is asked for THEN the idempotency record answers, times in ISO 8601
    shown = status(pipeline, "ok-1", capsys)
    assert (shown["state"], shown["source"], shown["amount"]) == (
        "charged",
        "idempotency_record",
        4200,
    )
    assert shown["payment_intent_id"].startswith("pi_")
    assert ISO_UTC.match(shown["expires_at"]), shown["expires_at"]
    # WHEN the ledger writer has read the stream
    record_results(pipeline, ledger)
    # THEN the ledger answers, with every transition's time and source
    shown = status(pipeline, "ok-1", capsys)
    assert (shown["state"], shown["source"], shown["customer"]) == (
        "charged",
        "ledger",
        pipeline.customer.id,
    )
    assert shown["stripe_status"] == "succeeded"
    ((transition),) = shown["transitions"]
    assert (transition["state"], transition["source"]) == ("charged", "charge_record")
    assert transition["payment_intent_id"] == shown["payment_intent_id"]
    assert ISO_UTC.match(transition["at"]) and ISO_UTC.match(shown["created_at"])
    # The table's own bookkeeping is not shown.
    assert "state_rank" not in shown and "expires_at" not in shown


def test_a_dead_lettered_request_shows_dead_lettered_with_its_reason(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a request over the amount limit, dead-lettered by the function
    pipeline.send(pipeline.charge_body("big-1", amount=2_000_000))
    pipeline.drain()
    # WHEN its status is asked for
    shown = status(pipeline, "big-1", capsys)
    # THEN it is dead_lettered, with the reason, when and by whom
    assert (shown["state"], shown["source"], shown["reason"]) == (
        "dead_lettered",
        "ledger",
        "limit_exceeded",
    )
    assert shown["detail"]
    ((transition),) = shown["transitions"]
    assert (transition["state"], transition["reason"], transition["source"]) == (
        "dead_lettered",
        "limit_exceeded",
        "dead_letter",
    )
    assert ISO_UTC.match(transition["at"])


def test_a_pending_debit_shows_each_transition_to_its_end(
    pipeline: Pipeline, ledger: LedgerTable, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a bank debit left processing, recorded as pending
    pipeline.send(pipeline.charge_body("ach-1", payment_method="pm_usBankAccount_processing"))
    pipeline.drain()
    record_results(pipeline, ledger)
    pending = status(pipeline, "ach-1", capsys)
    assert pending["state"] == "pending"
    # WHEN Stripe's payment_intent.succeeded settles it (as the webhook endpoint applies it)
    settled = Fact(
        request_id="ach-1",
        state=State.CHARGED,
        source=Source.STRIPE_WEBHOOK,
        at=now(),
        payment_intent_id=pending["payment_intent_id"],
        stripe_status="succeeded",
        stripe_event_id="evt_1",
    )
    assert ledger.apply(settled)
    # THEN both transitions show, in order, with their times and sources
    shown = status(pipeline, "ach-1", capsys)
    assert shown["state"] == "charged"
    assert [(t["state"], t["source"]) for t in shown["transitions"]] == [
        ("pending", "charge_record"),
        ("charged", "stripe_webhook"),
    ]
    assert shown["transitions"][1]["stripe_event_id"] == "evt_1"
    assert shown["transitions"][0]["at"] <= shown["transitions"][1]["at"]


def test_status_of_a_request_nobody_knows_is_not_found(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(pipeline, "never-sent", capsys) == {
        "request_id": "never-sent",
        "state": "not_found",
    }


@pytest.fixture
def outcome_log(pipeline: Pipeline) -> tuple[EventBus, str]:
    """The stack's bus and outcome log in moto as the local runtime provisions them
    (``chargeq_local.outcome_bus``): a rule delivering every ``chargeq`` event to the log
    group ``settings.outcome_log_group_name``."""
    bus = EventBus(
        boto3.client("events", region_name="us-east-1"), pipeline.resources.event_bus_name
    )
    return bus, pipeline.resources.outcome_log_group_name


def publish(pipeline: Pipeline, bus: EventBus) -> None:
    """The outcome publisher reads the ledger's stream (from its start: a replay repeats
    every event)."""
    drain(pipeline.resources.ledger_stream_arn, lambda event: publish_outcomes(event, None, bus))


def printed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_outcomes_prints_each_event_once_though_the_bus_delivered_it_twice(
    pipeline: Pipeline,
    ledger: LedgerTable,
    outcome_log: tuple[EventBus, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bus, _ = outcome_log
    # GIVEN a charge, a decline and a dead letter, published, then published again (a
    # stream replay: at least once)
    pipeline.send(
        pipeline.charge_body("ok-1"),
        pipeline.charge_body("no-1", payment_method="pm_card_visa_chargeDeclined"),
        pipeline.charge_body("big-1", amount=2_000_000),
    )
    pipeline.drain()
    record_results(pipeline, ledger)
    publish(pipeline, bus)
    publish(pipeline, bus)
    # WHEN the outcomes are asked for
    assert main(["outcomes", *target(pipeline), "--since", "10m"]) == 0
    # THEN each state change is printed once, with its type, time and detail
    shown = printed(capsys)
    assert sorted((event["detail_type"], event["request_id"]) for event in shown) == [
        ("charge.charged", "ok-1"),
        ("charge.dead_lettered", "big-1"),
        ("charge.declined", "no-1"),
    ]
    assert all(event["event_id"] == f"{event['request_id']}/{event['state']}" for event in shown)
    # AND --request-id keeps one request's events only
    assert main(["outcomes", *target(pipeline), "--request-id", "no-1"]) == 0
    assert [event["event_id"] for event in printed(capsys)] == ["no-1/declined"]


def test_following_shows_new_events_as_they_come_and_each_once(
    pipeline: Pipeline, ledger: LedgerTable, outcome_log: tuple[EventBus, str]
) -> None:
    bus, group = outcome_log
    logs = boto3.client("logs", region_name="us-east-1")
    pipeline.send(pipeline.charge_body("first"))
    pipeline.drain()
    record_results(pipeline, ledger)
    publish(pipeline, bus)

    def between_polls(_seconds: float) -> None:
        # A new charge arrives while following; the old one is delivered again.
        pipeline.send(pipeline.charge_body("second"))
        pipeline.drain()
        record_results(pipeline, ledger)
        publish(pipeline, bus)

    followed = follow(logs, group, start_ms=0, sleep=between_polls, polls=2)
    assert [outcome.event_id for outcome in followed] == ["first/charged", "second/charged"]


def test_every_page_is_read(pipeline: Pipeline, outcome_log: tuple[EventBus, str]) -> None:
    _, group = outcome_log
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    # Recent: CloudWatch Logs refuses events more than 14 days old (PutLogEvents).
    now_ms = int(time.time() * 1000) - 60_000
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {
                "timestamp": now_ms + n,
                "message": json.dumps(
                    {
                        "source": "chargeq",
                        "detail-type": "charge.charged",
                        "time": "2023-11-14T22:13:20Z",
                        "detail": {"event_id": f"r-{n}/charged", "request_id": f"r-{n}"},
                    }
                ),
            }
            for n in range(30)
        ]
        + [{"timestamp": now_ms + 100, "message": "not an event"}],
    )
    pages = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["limit"] = 10

    def count_page(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(len(parsed["events"]))

    logs.meta.events.register("provide-client-params.logs.FilterLogEvents", small_pages)
    logs.meta.events.register("after-call.logs.FilterLogEvents", count_page)
    read = list(unique(read_outcomes(logs, group, start_ms=0)))
    assert len(read) == 30 and len(pages) == 4
    assert read[0].as_dict()["detail_type"] == "charge.charged"


def test_output_cut_short_by_its_reader_ends_quietly(
    pipeline: Pipeline,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN stdout is a pipe whose reader has gone (`chargeq status ... | head`, head done)
    read_end, write_end = os.pipe()
    os.close(read_end)
    monkeypatch.setattr("sys.stdout", os.fdopen(write_end, "w"))
    # WHEN the command prints THEN it stops with 141, and no traceback or error line
    assert main(["status", *target(pipeline), "never-sent"]) == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""
