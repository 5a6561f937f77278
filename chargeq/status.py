"""What the idempotency table says about a request: the answer to "was this charged?"."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from charges.claims import RecordAttribute, record_key


@dataclass(frozen=True)
class RequestStatus:
    """One request's idempotency record, read for a person."""

    request_id: str
    #: "not_found"; "in_progress" (a delivery holds the claim); "released" (an attempt
    #: failed or its claim timed out: the next delivery looks Stripe up first); or the
    #: stored outcome: "charged", "declined", "pending" (a PaymentIntent still processing).
    state: str
    result: dict[str, Any] | None = None
    expires_at: int | None = None
    in_progress_until_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def read_status(dynamodb: Any, table_name: str, request_id: str) -> RequestStatus:
    """Look the request up by the same key Powertools writes (a consistent read)."""
    item = dynamodb.get_item(
        TableName=table_name,
        Key={RecordAttribute.KEY: {"S": record_key(request_id)}},
        ConsistentRead=True,
    ).get("Item")
    if not item:
        return RequestStatus(request_id, "not_found")
    expiry = item.get(RecordAttribute.EXPIRY)
    expires_at = int(expiry["N"]) if expiry else None
    if expires_at is not None and expires_at < time.time():
        # TTL deletion lags; an expired record no longer protects anything.
        return RequestStatus(request_id, "not_found", expires_at=expires_at)
    status = item.get(RecordAttribute.STATUS, {}).get("S", "")
    if status == "INPROGRESS":
        until = item.get(RecordAttribute.IN_PROGRESS_EXPIRY, {}).get("N")
        held = until is None or int(until) > time.time() * 1000
        return RequestStatus(
            request_id,
            "in_progress" if held else "released",
            expires_at=expires_at,
            in_progress_until_ms=int(until) if until else None,
        )
    data = item.get(RecordAttribute.DATA)
    result = json.loads(data["S"]) if data else {}
    return RequestStatus(request_id, str(result.get("outcome", status.lower())), result, expires_at)
