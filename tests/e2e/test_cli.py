"""Each CLI command against the local stack (moto's HTTP server and the Stripe emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chargeq.cli import main
from chargeq_local.event_source import EventSource
from chargeq_local.runner import LOCAL_AWS_ENVIRONMENT, STRIPE_API_KEY, LocalStack
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
    # THEN its status shows the PaymentIntent (from the ledger, or the record before it)
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "charged"
    assert shown["payment_intent_id"].startswith("pi_")
    assert shown["amount"] == 1234


def test_status_of_an_unknown_request_is_not_found(stack, capsys):
    assert main(["status", *target(stack), "never-sent"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "not_found"


def test_send_from_file_checks_every_line_sends_the_good_and_names_the_bad(stack, tmp_path, capsys):
    # GIVEN a JSON Lines file with a blank line, broken JSON, a non-object and a contract
    # violation among good requests
    good = {"customer": "cus_a", "amount": 100, "currency": "usd"}
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        "\n".join(
            [
                json.dumps({"request_id": "file-1", **good}),
                "",
                '{"request_id": "file-2", "amount": ',
                "[1, 2]",
                json.dumps({"request_id": "file-4", **good, "amount": -1}),
                json.dumps({"request_id": "file-5", **good}),
            ]
        )
    )
    # WHEN it is sent
    status = main(["send", *target(stack), "--file", str(requests)])
    # THEN every good line is sent, every bad one is named by line and kind of fault
    captured = capsys.readouterr()
    output = lines(captured.out)
    assert status == 1
    assert [(item["line"], item["accepted"]) for item in output if "accepted" in item] == [
        (1, "file-1"),
        (6, "file-5"),
    ]
    assert [
        (item["line"], item["fault"], item["reason"]) for item in output if "rejected" in item
    ] == [
        (3, "json", "invalid_json"),
        (4, "contract", "contract_violation"),
        (5, "contract", "contract_violation"),
    ]
    assert [item["line"] for item in output] == [1, 3, 4, 5, 6]  # in file order
    (summary,) = captured.err.splitlines()
    assert summary == (
        "chargeq: sent 2, rejected 3 (line 3, 4, 5): fix the rejected request(s) and send "
        "them again"
    )


def test_bad_usage_exits_two_with_a_message(stack, capsys):
    assert main(["send", *target(stack), "--request-id", "x"]) == 2
    assert "missing --customer, --amount" in capsys.readouterr().err


def test_unreachable_pipeline_exits_three(capsys):
    status = main(["status", "--endpoint-url", "http://127.0.0.1:9", "--stage", "nowhere", "r"])
    assert status == 3
    assert "cannot connect to http://127.0.0.1:9" in capsys.readouterr().err


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
    # AND the receive count is the one the function recorded, which listing does not raise
    assert {letter["receive_count"] for letter in first + second} == {1}
    assert all(letter["failed_at"] for letter in first)
    assert main(["dlq", "list", *target(stack)]) == 0
    assert "receives=1   dead-lettered=20" in capsys.readouterr().out
    # WHEN it is redriven by reason
    assert main(["dlq", "redrive", *target(stack), "--reason", "invalid_json"]) == 0
    moved = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["redriven"]
    # THEN the messages went back to the queue (and, still poison, come back to the DLQ)
    assert moved == len([item for item in first if item["reason"] == "invalid_json"])
    process_queue(stack, worker)
    assert main(["dlq", "list", *target(stack), "--json"]) == 0
    again = lines(capsys.readouterr().out)
    assert len([item for item in again if item["reason"] == "invalid_json"]) == moved


def empty(stack: LocalStack, queue_url: str) -> None:
    """Delete every message (PurgeQueue is allowed once a minute)."""
    sqs = stack.client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def empty_dlq(stack: LocalStack) -> None:
    empty(stack, stack.resources.dlq_url)


def moved_by_redrive_policy(stack: LocalStack, request_id: str) -> str:
    """A message as the queue's redrive policy leaves it in the DLQ: body, no attributes."""
    body = json.dumps(
        {
            "version": 1,
            "request_id": request_id,
            "customer": "cus_cli",
            "amount": 900,
            "currency": "usd",
            "payment_method": "pm_card_visa",
        }
    )
    stack.client("sqs").send_message(QueueUrl=stack.resources.dlq_url, MessageBody=body)
    return body


def test_redrive_moves_each_message_once_and_leaves_hopeless_poison(stack, worker, capsys):
    """Issue 13, item 2: 4 poison messages and 3 redrivable ones; the pipeline runs during
    the redrive and dead-letters the poison again."""
    # GIVEN four poison messages dead-lettered by the function, and three redrivable ones
    empty_dlq(stack)
    sqs = stack.client("sqs")
    for index in range(4):
        sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=f"not json {index}")
    process_queue(stack, worker)
    for index in range(3):
        moved_by_redrive_policy(stack, f"redrive-once-{index}")
    # WHEN the DLQ is redriven, by default, then again
    started = time.monotonic()
    assert main(["dlq", "redrive", *target(stack)]) == 0
    first = capsys.readouterr()
    assert main(["dlq", "redrive", *target(stack)]) == 0
    second = capsys.readouterr()
    # THEN the first moved exactly the three, left the poison, and said so line by line
    assert json.loads(first.out.splitlines()[-1]) == {"redriven": 3, "skipped": {"invalid_json": 4}}
    assert "\r" not in first.err
    assert first.err.splitlines()[-1] == "redriven 3, left 4"
    # AND the repeat ended too, moving nothing
    assert json.loads(second.out.splitlines()[-1]) == {
        "redriven": 0,
        "skipped": {"invalid_json": 4},
    }
    assert time.monotonic() - started < 20
    # WHEN the poison is asked for by reason while the pipeline dead-letters it again
    stop = threading.Event()

    def keep_processing() -> None:
        while not stop.is_set():
            process_queue(stack, worker)

    consumer = threading.Thread(target=keep_processing, daemon=True)
    consumer.start()
    try:
        assert main(["dlq", "redrive", *target(stack), "--reason", "invalid_json"]) == 0
    finally:
        stop.set()
        consumer.join(timeout=30)
    # THEN each of the four moved once, however often it came back meanwhile
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["redriven"] == 4


def test_redrive_by_move_task_makes_new_messages(stack, capsys):
    """SQS's StartMessageMoveTask, answered locally by the strict layer: a new message with
    its body and attributes (Developer Guide, "Configure a dead-letter queue redrive")."""
    empty_dlq(stack)
    sqs = stack.client("sqs")
    body = moved_by_redrive_policy(stack, "move-task-1")
    (before,) = sqs.receive_message(
        QueueUrl=stack.resources.dlq_url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    assert main(["dlq", "redrive", *target(stack), "--move-task"]) == 0
    shown = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (shown["status"], shown["redriven"], shown["to_move"]) == ("COMPLETED", 1, 1)
    (after,) = sqs.receive_message(
        QueueUrl=stack.resources.queue_url, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert after["Body"] == body
    assert after["MessageId"] != before["MessageId"]
    assert after["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "MessageAttributes" not in after  # a redrive adds nothing of its own
    sqs.delete_message(QueueUrl=stack.resources.queue_url, ReceiptHandle=after["ReceiptHandle"])


def test_redrive_honours_aws_endpoint_url(stack, capsys, monkeypatch):
    empty_dlq(stack)
    moved_by_redrive_policy(stack, "endpoint-env-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.moto_url)
    assert main(["dlq", "redrive", "--stage", stack.settings.stage, "--move-task"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["redriven"] == 1
    empty(stack, stack.resources.queue_url)


def test_a_move_task_with_a_filter_is_bad_usage_before_any_aws_call(capsys):
    unreachable = ["--endpoint-url", "http://127.0.0.1:9", "--stage", "nowhere"]
    assert main(["dlq", "redrive", *unreachable, "--move-task", "--reason", "x"]) == 2
    assert "--move-task moves every message" in capsys.readouterr().err


def test_the_command_in_its_own_process_gets_the_local_move_task(stack):
    """A subprocess builds its own client: botocore's plugin variable makes it strict."""
    empty_dlq(stack)
    moved_by_redrive_policy(stack, "subprocess-1")
    done = subprocess.run(
        [sys.executable, "-m", "chargeq.cli", "dlq", "redrive", *target(stack), "--move-task"],
        env=os.environ | LOCAL_AWS_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["redriven"] == 1
    assert "move task completed: 1 of 1 moved" in done.stderr.splitlines()
    empty(stack, stack.resources.queue_url)
