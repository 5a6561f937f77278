"""The producer client: validate charge requests against the contract and put them on the queue.

    from chargeq.producer import ChargeProducer

    producer = ChargeProducer(queue_url)
    report = producer.send_many([
        {"request_id": "order-42", "customer": "cus_123", "amount": 1999, "currency": "usd"},
    ])
    for rejected in report.rejected:
        print(rejected.request_id, rejected.reason, rejected.detail)

A request is validated before it is sent, so a malformed one is reported back to the caller
instead of ending in the DLQ. Sending is safe to repeat: the pipeline charges each
``request_id`` once however many times it is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from charges.contract import CONTRACT_VERSION, ChargeLimits, ChargeRequest, parse_charge_request
from charges.outcomes import PoisonMessage

#: SendMessageBatch takes at most ten entries.
BATCH_LIMIT = 10


@dataclass(frozen=True)
class Accepted:
    """A request SQS has stored."""

    index: int
    request_id: str
    message_id: str


@dataclass(frozen=True)
class Rejected:
    """A request that was not sent, with a machine-readable reason and a detail."""

    index: int
    request_id: str | None
    reason: str
    detail: str


@dataclass
class SendReport:
    """Per-request results of one ``send_many`` call, in input order within each list."""

    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


class ChargeProducer:
    """Sends charge requests to the pipeline's queue.

    ``limits`` should match the deployment's (amount maximum and currencies) so a request
    the function would refuse is refused here; the defaults are the stack's defaults.
    Entries SQS fails for a server-side reason are retried up to ``max_attempts`` times.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        sqs_client: Any | None = None,
        limits: ChargeLimits | None = None,
        max_attempts: int = 4,
        backoff_seconds: float = 0.2,
    ) -> None:
        self._queue_url = queue_url
        self._sqs = sqs_client or boto3.client("sqs")
        self._limits = limits or ChargeLimits()
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds

    def validate(self, request: ChargeRequest | Mapping[str, Any]) -> ChargeRequest:
        """The request as the pipeline will read it; raises ``PoisonMessage`` if invalid.

        A mapping without ``version`` gets the current contract version.
        """
        if isinstance(request, ChargeRequest):
            self._limits.check(request)
            return request
        document = {"version": CONTRACT_VERSION, **request}
        return parse_charge_request(json.dumps(document), self._limits)

    def send(self, request: ChargeRequest | Mapping[str, Any]) -> SendReport:
        """Validate and send one request."""
        return self.send_many([request])

    def send_many(self, requests: Iterable[ChargeRequest | Mapping[str, Any]]) -> SendReport:
        """Validate each request, then send the valid ones in batches of ten."""
        report = SendReport()
        valid: list[tuple[int, ChargeRequest]] = []
        for index, request in enumerate(requests):
            try:
                valid.append((index, self.validate(request)))
            except PoisonMessage as invalid:
                request_id = request.get("request_id") if isinstance(request, Mapping) else None
                report.rejected.append(
                    Rejected(
                        index,
                        request_id if isinstance(request_id, str) else None,
                        str(invalid.reason),
                        invalid.detail,
                    )
                )
        for start in range(0, len(valid), BATCH_LIMIT):
            self._send_batch(valid[start : start + BATCH_LIMIT], report)
        report.accepted.sort(key=lambda item: item.index)
        report.rejected.sort(key=lambda item: item.index)
        return report

    def _send_batch(self, batch: list[tuple[int, ChargeRequest]], report: SendReport) -> None:
        pending = {str(index): request for index, request in batch}
        last_error = "not attempted"
        for attempt in range(self._max_attempts):
            if attempt:
                time.sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._sqs.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": entry_id, "MessageBody": request.model_dump_json(exclude_none=True)}
                        for entry_id, request in pending.items()
                    ],
                )
            except (ClientError, BotoCoreError) as error:
                last_error = _describe(error)
                continue  # the whole call failed: every entry is still pending
            for success in response.get("Successful", []):
                request = pending.pop(success["Id"])
                report.accepted.append(
                    Accepted(int(success["Id"]), request.request_id, success["MessageId"])
                )
            for failure in response.get("Failed", []):
                if failure.get("SenderFault"):
                    # Our fault (too big, bad attribute): sending again cannot help.
                    request = pending.pop(failure["Id"])
                    report.rejected.append(
                        Rejected(
                            int(failure["Id"]),
                            request.request_id,
                            "rejected_by_sqs",
                            f"{failure.get('Code')}: {failure.get('Message', '')}",
                        )
                    )
                else:
                    last_error = f"{failure.get('Code')}: {failure.get('Message', '')}"
            if not pending:
                return
        for entry_id, request in pending.items():
            report.rejected.append(
                Rejected(int(entry_id), request.request_id, "send_failed", last_error)
            )


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"
