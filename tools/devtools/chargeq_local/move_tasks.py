"""SQS message move tasks (DLQ redrive) for moto, which lacks them.

``StartMessageMoveTask``, ``ListMessageMoveTasks`` and ``CancelMessageMoveTask`` are
answered on the client's own ``before-call`` hooks (``strict_sqs.install``), so the code
that calls them (``chargeq dlq redrive``) is the code that runs on AWS. The task itself
moves messages the only way SQS's API allows from outside: receive from the DLQ, send to
the destination with the same body and message attributes, delete from the DLQ. That is
exactly what SQS documents for a redriven message: it is a *new* message (new message ID,
new ``SentTimestamp``, receive count from zero, retention restarted) with its message
attributes kept. Sources:

- Developer Guide, "Configure a dead-letter queue redrive" (new message ID, timestamp,
  receive count, retention; attributes kept)
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
- API Reference: StartMessageMoveTask (source must be a DLQ of an SQS queue; one active
  task per queue; rate up to 500 messages/s; no destination = the original source queue),
  ListMessageMoveTasks (newest first, ``MaxResults`` 1 by default, up to 10; handle only
  while RUNNING; ``ApproximateNumberOfMessagesToMove`` taken when the task starts),
  CancelMessageMoveTask (RUNNING tasks only)
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html

A task moves at most the number of messages the DLQ held when it started, so messages
that reach the DLQ during the task (poison dead-lettered again) wait for the next one.
Tasks live with the client that started them: another client's ``ListMessageMoveTasks``
does not see them (on AWS any client would). Error codes SQS does not publish (a second task on a
busy queue, a source that is not a DLQ) are ``InvalidParameterValue`` here.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

from chargeq_local.sqs_answers import error_response, ok_response
from chargeq_local.sqs_rules import Refusal

#: How long a moving message stays invisible in the DLQ between its receive and delete.
_HOLD_SECONDS = 30
_MAX_RATE = 500
_PARAMS = "chargeq_move_tasks.params"

RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = (
    "RUNNING",
    "COMPLETED",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
)


class Refused(Exception):
    """SQS would refuse the call; carries its answer."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


@dataclass
class MoveTask:
    """One task, as ``ListMessageMoveTasks`` reports it."""

    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_ms: int
    to_move: int
    moved: int = 0
    status: str = RUNNING
    failure: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def as_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == RUNNING:
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure:
            entry["FailureReason"] = self.failure
        return entry


class _Tasks:
    """One client's move tasks, by source ARN, oldest first."""

    def __init__(self) -> None:
        self.by_source: dict[str, list[MoveTask]] = {}
        self.lock = threading.Lock()


def install(client: Any) -> None:
    """Answer the three move-task operations on ``client`` (idempotent)."""
    tasks = _Tasks()
    answers: dict[str, Callable[[Any, _Tasks, dict[str, Any]], dict[str, Any]]] = {
        "StartMessageMoveTask": start,
        "ListMessageMoveTasks": list_tasks,
        "CancelMessageMoveTask": cancel,
    }
    events = client.meta.events
    for operation, answer in answers.items():
        events.register(
            f"before-parameter-build.sqs.{operation}",
            _keep_params,
            unique_id=f"chargeq-move-tasks:params:{operation}",
        )
        events.register(
            f"before-call.sqs.{operation}",
            functools.partial(_answer, answer, client, tasks),
            unique_id=f"chargeq-move-tasks:answer:{operation}",
        )


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_PARAMS] = dict(params)


def _answer(
    answer: Callable[[Any, _Tasks, dict[str, Any]], dict[str, Any]],
    client: Any,
    tasks: _Tasks,
    context: dict[str, Any],
    **_: Any,
) -> tuple[AWSResponse, dict[str, Any]]:
    try:
        return ok_response(answer(client, tasks, context.get(_PARAMS, {})))
    except Refused as refused:
        return error_response(refused.refusal)


def start(client: Any, tasks: _Tasks, params: dict[str, Any]) -> dict[str, Any]:
    """StartMessageMoveTask: check, count the source, and move in a background thread."""
    source_arn = str(params["SourceArn"])
    source_url = _queue_url(client, source_arn)
    feeding = _queues_dead_lettering_to(client, source_arn)
    if not feeding:
        raise Refused(
            Refusal.invalid_parameter("Source queue must be configured as a Dead Letter Queue.")
        )
    destination_arn = params.get("DestinationArn")
    if destination_arn:
        destination_url = _queue_url(client, str(destination_arn))
    elif len(feeding) == 1:
        destination_url = feeding[0]
    else:
        # SQS sends each message back to the queue it came from; which one is not
        # visible through the API, so refuse rather than guess (stricter).
        raise Refused(
            Refusal.invalid_parameter(
                "More than one queue uses this dead-letter queue: pass DestinationArn."
            )
        )
    rate = params.get("MaxNumberOfMessagesPerSecond")
    if rate is not None and not 1 <= int(rate) <= _MAX_RATE:
        raise Refused(
            Refusal.invalid_parameter(
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                f"Reason: must be between 1 and {_MAX_RATE}."
            )
        )
    to_move = int(
        client.get_queue_attributes(
            QueueUrl=source_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    with tasks.lock:
        if any(
            task.status in (RUNNING, CANCELLING) for task in tasks.by_source.get(source_arn, [])
        ):
            raise Refused(
                Refusal.invalid_parameter(
                    "There is already a task running. Only one active task is allowed for a "
                    "source queue ARN at a given time."
                )
            )
        task = MoveTask(
            handle=_handle(source_arn),
            source_arn=source_arn,
            destination_arn=str(destination_arn) if destination_arn else None,
            rate=int(rate) if rate is not None else None,
            started_ms=int(time.time() * 1000),
            to_move=to_move,
        )
        tasks.by_source.setdefault(source_arn, []).append(task)
    threading.Thread(
        target=_move, args=(client, tasks.lock, task, source_url, destination_url), daemon=True
    ).start()
    return {"TaskHandle": task.handle}


def list_tasks(client: Any, tasks: _Tasks, params: dict[str, Any]) -> dict[str, Any]:
    """ListMessageMoveTasks: the newest ``MaxResults`` (default 1, at most 10) tasks."""
    source_arn = str(params["SourceArn"])
    _queue_url(client, source_arn)
    limit = int(params.get("MaxResults") or 1)
    if not 1 <= limit <= 10:
        raise Refused(
            Refusal.invalid_parameter(
                f"Value {limit} for parameter MaxResults is invalid. Reason: must be between "
                "1 and 10."
            )
        )
    with tasks.lock:
        newest_first = list(reversed(tasks.by_source.get(source_arn, [])))[:limit]
        return {"Results": [task.as_entry() for task in newest_first]}


def cancel(_client: Any, tasks: _Tasks, params: dict[str, Any]) -> dict[str, Any]:
    """CancelMessageMoveTask: stop a RUNNING task; the messages it moved stay moved."""
    handle = str(params["TaskHandle"])
    with tasks.lock:
        task = next(
            (
                task
                for of_source in tasks.by_source.values()
                for task in of_source
                if task.handle == handle
            ),
            None,
        )
        if task is None:
            raise Refused(
                Refusal.modelled(
                    "ResourceNotFoundException", "The task handle is invalid.", query_prefix=False
                )
            )
        if task.status != RUNNING:
            raise Refused(
                Refusal.invalid_parameter("Only a task in RUNNING status can be cancelled.")
            )
        task.status = CANCELLING
        task.cancel.set()
        return {"ApproximateNumberOfMessagesMoved": task.moved}


def _move(
    client: Any, lock: threading.Lock, task: MoveTask, source_url: str, destination_url: str
) -> None:
    """Receive, send as a new message with the same body and attributes, delete."""
    held: list[str] = []
    status, failure = FAILED, None
    try:
        empty_receives = 0
        while task.moved < task.to_move and not task.cancel.is_set() and empty_receives < 3:
            messages = client.receive_message(
                QueueUrl=source_url,
                MaxNumberOfMessages=min(10, task.to_move - task.moved),
                VisibilityTimeout=_HOLD_SECONDS,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            empty_receives = 0 if messages else empty_receives + 1
            held = [message["ReceiptHandle"] for message in messages]
            for message in messages:
                if task.cancel.is_set():
                    break
                client.send_message(
                    QueueUrl=destination_url,
                    MessageBody=message["Body"],
                    **_message_attributes(message),
                )
                client.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
                held.remove(message["ReceiptHandle"])
                with lock:
                    task.moved += 1
                if task.rate:
                    task.cancel.wait(1 / task.rate)
        status = CANCELLED if task.cancel.is_set() else COMPLETED
    except Exception as error:  # the task fails, as SQS reports it; the caller polls
        failure = f"{type(error).__name__}: {error}"
    finally:
        # Received but not moved: visible in the DLQ again before the task reports its end,
        # so whoever sees the end finds every unmoved message there.
        for receipt_handle in held:
            client.change_message_visibility(
                QueueUrl=source_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )
        with lock:
            task.status, task.failure = status, failure


def _message_attributes(message: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        name: {
            key: value
            for key, value in attribute.items()
            if key in ("DataType", "StringValue", "BinaryValue")
        }
        for name, attribute in message.get("MessageAttributes", {}).items()
    }
    return {"MessageAttributes": attributes} if attributes else {}


def _queue_url(client: Any, arn: str) -> str:
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
        raise Refused(Refusal.invalid_parameter(f"{arn} is not a queue ARN."))
    try:
        return str(
            client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        )
    except client.exceptions.QueueDoesNotExist:
        raise Refused(
            Refusal.modelled(
                "ResourceNotFoundException",
                "The resource that you specified for the SourceArn parameter doesn't exist.",
                query_prefix=False,
            )
        ) from None


def _queues_dead_lettering_to(client: Any, dlq_arn: str) -> list[str]:
    """URLs of the queues whose redrive policy targets ``dlq_arn``."""
    feeding = []
    for url in client.list_queues().get("QueueUrls", []):
        policy = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        redrive = policy.get("Attributes", {}).get("RedrivePolicy")
        if redrive and json.loads(redrive).get("deadLetterTargetArn") == dlq_arn:
            feeding.append(url)
    return feeding


def _handle(source_arn: str) -> str:
    token = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn})
    return base64.b64encode(token.encode()).decode()
