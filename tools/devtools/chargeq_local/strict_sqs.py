"""A boto3 SQS client that refuses what SQS refuses, and runs message move tasks locally.

Built on botocore's event hooks around an unchanged client talking to moto (no fork of
moto, nothing patched):

- ``before-parameter-build.sqs.SendMessage[Batch]`` checks the API params against
  ``sqs_rules``. A refused SendMessage, or a refused batch as a whole, is answered from
  ``before-call`` with the error response SQS sends, so botocore itself raises the error
  (``client.exceptions.BatchRequestTooLong``, ``ClientError`` code
  ``InvalidParameterValue``, ...) exactly as it would for AWS. A batch entry SQS refuses
  on its own content is taken out of the request and reported in ``Failed`` with SQS's
  code, the other entries are sent.
- ``StartMessageMoveTask``, ``ListMessageMoveTasks`` and ``CancelMessageMoveTask``, which
  moto lacks, are answered by ``move_tasks`` with SQS's semantics.

``install(client)`` is the one factory seam: the local runtime's and the tests' clients
go through it. Clients built where the runtime cannot reach them (the function's own
client inside a worker process, the ``chargeq`` command in a subprocess) load it through
botocore's client-plugin variable, ``PLUGIN_ENVIRONMENT``; a test proves that a plain
``boto3.client("sqs")`` built under it is strict, so a botocore that drops the (still
experimental) variable fails loudly instead of silently going lenient.
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from chargeq_local import move_tasks
from chargeq_local.sqs_answers import error_response, ok_response
from chargeq_local.sqs_rules import Refusal, batch_refusal, message_refusal

#: Variables under which every botocore client built in a process is made strict.
PLUGIN_ENVIRONMENT = {
    "BOTOCORE_EXPERIMENTAL__PLUGINS": "chargeq_strict_sqs=chargeq_local.strict_sqs"
}

_REFUSAL = "chargeq_strict_sqs.refusal"
_FAILED = "chargeq_strict_sqs.failed"
_ALL_FAILED = "chargeq_strict_sqs.all_failed"


def install(client: Any) -> Any:
    """Make ``client`` strict (idempotent; clients of other services are left alone)."""
    if client.meta.service_model.service_name != "sqs":
        return client
    events = client.meta.events
    hooks = {
        "before-parameter-build.sqs.SendMessage": _check_message,
        "before-parameter-build.sqs.SendMessageBatch": _check_batch,
        "before-call.sqs.SendMessage": _answer_refusal,
        "before-call.sqs.SendMessageBatch": _answer_batch,
        "after-call.sqs.SendMessageBatch": _add_failed_entries,
    }
    for event, handler in hooks.items():
        events.register(event, handler, unique_id=f"chargeq-strict-sqs:{event}")
    move_tasks.install(client)
    return client


def initialize_client_plugin(client: Any) -> None:
    """Entry point botocore calls for each client when ``PLUGIN_ENVIRONMENT`` is set."""
    install(client)


def _check_message(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    refusal = message_refusal(str(params.get("MessageBody", "")), params.get("MessageAttributes"))
    if refusal:
        context[_REFUSAL] = refusal


def _check_batch(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    entries = list(params.get("Entries") or [])
    refusal = batch_refusal(entries)
    if refusal:
        context[_REFUSAL] = refusal
        return
    kept, failed = [], []
    for entry in entries:
        entry_refusal = message_refusal(
            str(entry.get("MessageBody", "")), entry.get("MessageAttributes")
        )
        if entry_refusal is None:
            kept.append(entry)
            continue
        # Not published whether SQS fails such an entry alone or the whole call; it
        # reports per-entry faults in Failed (SenderFault true), which a sender must
        # handle anyway, and moto would otherwise accept the entry.
        failed.append(
            {
                "Id": entry.get("Id"),
                "SenderFault": True,
                "Code": entry_refusal.shape or entry_refusal.code,
                "Message": entry_refusal.message,
            }
        )
    if failed:
        context[_FAILED] = failed
        # A new list: the caller's own list of entries stays as it was.
        params["Entries"] = kept
        context[_ALL_FAILED] = not kept


def _answer_refusal(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    refusal: Refusal | None = context.get(_REFUSAL)
    return error_response(refusal) if refusal else None


def _answer_batch(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    answer = _answer_refusal(context)
    if answer is not None:
        return answer
    if context.get(_ALL_FAILED):
        # Nothing left to send: SQS answers 200 with every entry in Failed.
        return ok_response({"Successful": [], "Failed": []})
    return None


def _add_failed_entries(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    failed = context.get(_FAILED)
    if failed and "Error" not in parsed:
        parsed.setdefault("Successful", [])
        parsed["Failed"] = [*parsed.get("Failed", []), *failed]
