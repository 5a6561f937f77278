"""SQS's answers as botocore sees them, for hooks that answer a call instead of moto."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from chargeq_local.sqs_rules import Refusal


def error_response(refusal: Refusal, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    """The (HTTP response, parsed) pair botocore builds from SQS's error answer.

    ``QueryErrorCode`` carries the modelled shape: botocore's SQS after-call handler maps
    it to ``client.exceptions.<shape>``, as for a real answer with ``x-amzn-query-error``.
    """
    error: dict[str, Any] = {"Code": refusal.code, "Message": refusal.message, "Type": "Sender"}
    if refusal.shape:
        error["QueryErrorCode"] = refusal.shape
    return _response(status), {"Error": error, "ResponseMetadata": _metadata(status)}


def ok_response(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """A 200 answer with ``parsed`` as its parsed body."""
    return _response(200), {**parsed, "ResponseMetadata": _metadata(200)}


def _response(status: int) -> AWSResponse:
    return AWSResponse(url="", status_code=status, headers={}, raw=None)


def _metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
