"""Each CLI command against the local stack (moto's HTTP server and the Stripe emulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chargeq.cli import main
from chargeq_local.event_source import EventSource
from chargeq_local.runner import STRIPE_API_KEY, LocalStack
from chargeq_local.workers import Worker
from stripe_emulator.fixtures import create_customer


@pytest.fixture(scope="module")
def worker(stack: LocalStack) -> Iterator[Worker]:
    (running,) = stack.workers()[:1]
    running.start()
    yield running
    running.stop()


def target(stack: LocalStack) -> list[str]:
    return ["--endpoint-url", stack.moto_url, "--stage", stack.settings.stage]


def process_queue(stack: LocalStack, worker: Worker) -> None:
    """Run the real handler until the queue is empty, failures retried at once."""
    source = EventSource(stack.client("sqs"), stack.resources.queue_url, stack.resources.queue_arn)
    for _ in range(20):
        if not source.poll_once(worker.invoke, retry_now=True).received:
            return


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_send_from_flags_then_status_shows_the_charge(stack, worker, capsys):
    # GIVEN a customer with a saved card, made through the Stripe API, and a request for it
    # sent from the command line
    customer = create_customer(stack.stripe_url, STRIPE_API_KEY)
    assert customer.payment_method is not None
    status = main(
        [
            "send",
            *target(stack),
            "--request-id",
            "cli-1",
            "--customer",
            customer.id,
            "--amount",
            "1234",
            "--payment-method",
            customer.payment_method,
            "--metadata",
            "order=77",
        ]
    )
    assert status == 0
    assert lines(capsys.readouterr().out)[0]["accepted"] == "cli-1"
    # WHEN the pipeline processes it and its status is asked for
    process_queue(stack, worker)
    assert main(["status", *target(stack), "cli-1"]) == 0
    # THEN the idempotency record shows the PaymentIntent
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "charged"
    assert shown["result"]["payment_intent_id"].startswith("pi_")
    assert shown["result"]["amount"] == 1234


def test_status_of_an_unknown_request_is_not_found(stack, capsys):
    assert main(["status", *target(stack), "never-sent"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "not_found"


def test_send_from_file_reports_rejected_lines_and_exits_one(stack, tmp_path, capsys):
    # GIVEN a JSON Lines file with one bad request among good ones
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"request_id": "file-1", "customer": "cus_a", "amount": 100, "currency": "usd"},
                {"request_id": "file-2", "customer": "cus_a", "amount": -1, "currency": "usd"},
                {"request_id": "file-3", "customer": "cus_b", "amount": 300, "currency": "usd"},
            ]
        )
    )
    # WHEN it is sent
    status = main(["send", *target(stack), "--file", str(requests)])
    # THEN the good ones are accepted, the bad one is named with its line and reason
    output = lines(capsys.readouterr().out)
    assert status == 1
    assert [item["accepted"] for item in output if "accepted" in item] == ["file-1", "file-3"]
    (rejected,) = [item for item in output if "rejected" in item]
    assert (rejected["line"], rejected["reason"]) == (2, "contract_violation")


def test_bad_usage_exits_two_with_a_message(stack, tmp_path, capsys):
    assert main(["send", *target(stack), "--request-id", "x"]) == 2
    assert "missing --customer, --amount" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert main(["send", *target(stack), "--file", str(broken)]) == 2
    assert "broken.jsonl:1: not JSON" in capsys.readouterr().err


def test_unreachable_pipeline_exits_three(capsys):
    status = main(["status", "--endpoint-url", "http://127.0.0.1:9", "--stage", "nowhere", "r"])
    assert status == 3
    assert "chargeq:" in capsys.readouterr().err


def test_dlq_list_and_redrive(stack, worker, capsys):
    # GIVEN a poison message dead-lettered by the function
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="definitely not json")
    process_queue(stack, worker)
    # WHEN the DLQ is listed, twice
    assert main(["dlq", "list", *target(stack), "--json"]) == 0
    first = lines(capsys.readouterr().out)
    assert main(["dlq", "list", *target(stack), "--json"]) == 0
    second = lines(capsys.readouterr().out)
    # THEN it shows the reason, and listing deleted nothing
    assert [letter["reason"] for letter in first].count("invalid_json") >= 1
    assert {letter["message_id"] for letter in first} == {letter["message_id"] for letter in second}
    # WHEN it is redriven
    assert main(["dlq", "redrive", *target(stack), "--reason", "invalid_json"]) == 0
    moved = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["redriven"]
    # THEN the messages went back to the queue (and, still poison, come back to the DLQ)
    assert moved == len([item for item in first if item["reason"] == "invalid_json"])
    process_queue(stack, worker)
    assert main(["dlq", "list", *target(stack), "--json"]) == 0
    again = lines(capsys.readouterr().out)
    assert len([item for item in again if item["reason"] == "invalid_json"]) == moved
