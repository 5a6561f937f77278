"""What is known about one request: the answer to "was this charged?".

The charges ledger answers first: it keeps every request for good, with its state
(``dead_lettered`` with the reason, ``pending``, ``charged``, ``declined``, ``failed``) and
each transition with its time and source. A request the ledger has not heard of yet (its
result is still on the idempotency table's stream, or the ledger writer is behind) is
read from its idempotency record, which also tells a claim in progress from a released
one. Every time is ISO 8601 UTC.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from charges.claims import RecordAttribute, record_key
from ledger.store import FACT_FIELDS, LedgerAttribute, LedgerTable

#: Where an answer came from.
FROM_LEDGER = "ledger"
FROM_IDEMPOTENCY_RECORD = "idempotency_record"

#: The ledger item's fields a person reads, in the order shown; the rest (the state's
#: rank, the pending index's keys) are the table's own bookkeeping.
LEDGER_FIELDS = (*FACT_FIELDS, LedgerAttribute.CREATED_AT, LedgerAttribute.UPDATED_AT)
#: A stored charge result's fields, named as the ledger names them.
RESULT_FIELDS = {
    "customer": "customer",
    "amount": "amount",
    "currency": "currency",
    "payment_intent_id": "payment_intent_id",
    "status": "stripe_status",
    "error_code": "error_code",
    "decline_code": "decline_code",
}


@dataclass(frozen=True)
class RequestStatus:
    """One request, read for a person (``as_dict`` leaves out what is unknown).

    ``state``: the ledger's state; else, from the idempotency record, ``in_progress`` (a
    delivery holds the claim), ``released`` (an attempt failed or its claim timed out: the
    next delivery looks Stripe up first) or the stored outcome (``charged``, ``declined``,
    ``pending``); ``not_found`` when neither has heard of it.
    """

    request_id: str
    state: str
    source: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    #: Each transition: ``{"state", "at", "source", "payment_intent_id"?, "reason"?,
    #: "stripe_event_id"?}``, oldest first (ledger only).
    transitions: list[dict[str, Any]] | None = None
    #: The idempotency record's expiry and in-progress deadline (fallback only).
    expires_at: str | None = None
    in_progress_until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"request_id": self.request_id, "state": self.state}
        if self.source:
            shown["source"] = self.source
        shown |= {name: value for name, value in self.fields.items() if value is not None}
        for name in ("expires_at", "in_progress_until", "transitions"):
            value = getattr(self, name)
            if value is not None:
                shown[name] = value
        return shown


def request_status(
    dynamodb: Any, *, table_name: str, ledger_table_name: str, request_id: str
) -> RequestStatus:
    """The ledger's answer, else the idempotency record's (consistent reads both).

    Raises botocore's ``ClientError`` (``chargeq.failures.explain_aws`` words it).
    """
    item = LedgerTable(dynamodb, ledger_table_name).get(request_id)
    if item is not None:
        return ledger_status(item)
    return read_status(dynamodb, table_name, request_id)


def ledger_status(item: dict[str, Any]) -> RequestStatus:
    """A ledger item (plain values, ``ledger.store.plain``) as a status."""
    return RequestStatus(
        request_id=item[LedgerAttribute.KEY],
        state=item[LedgerAttribute.STATE],
        source=FROM_LEDGER,
        fields={name: item.get(name) for name in LEDGER_FIELDS},
        transitions=list(item.get(LedgerAttribute.TRANSITIONS, [])),
    )


def read_status(dynamodb: Any, table_name: str, request_id: str) -> RequestStatus:
    """What the idempotency record alone says: the request looked up by the same key
    Powertools writes (a consistent read). The tests of the charge protocol and the local
    runtime's report read it; ``chargeq status`` asks ``request_status``."""
    item = dynamodb.get_item(
        TableName=table_name,
        Key={RecordAttribute.KEY: {"S": record_key(request_id)}},
        ConsistentRead=True,
    ).get("Item")
    return status_of(request_id, item)


def read_statuses(
    dynamodb: Any, table_name: str, request_ids: Iterable[str]
) -> dict[str, RequestStatus]:
    """``read_status`` of every request, from one consistent Scan of the table, page by page.

    For a whole run's requests at once (the local runtime's final check): a Scan reads up
    to 1 MB a page, so ten thousand records take a few requests instead of ten thousand
    GetItems. Requests without a record are ``not_found``.
    """
    wanted = {record_key(request_id): request_id for request_id in request_ids}
    items: dict[str, dict[str, Any]] = {}
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table_name, ConsistentRead=True):
        for item in page.get("Items", []):
            request_id = wanted.get(item.get(RecordAttribute.KEY, {}).get("S", ""))
            if request_id is not None:
                items[request_id] = item
    return {rid: status_of(rid, items.get(rid)) for rid in wanted.values()}


def status_of(request_id: str, item: dict[str, Any] | None) -> RequestStatus:
    """What an idempotency record (a DynamoDB item, None when there is none) says."""
    if not item:
        return RequestStatus(request_id, "not_found")
    expiry = item.get(RecordAttribute.EXPIRY)
    expires_at = int(expiry["N"]) if expiry else None
    if expires_at is not None and expires_at < time.time():
        # TTL deletion lags; an expired record no longer protects anything.
        return RequestStatus(request_id, "not_found", expires_at=iso(expires_at))
    expires = iso(expires_at) if expires_at is not None else None
    status = item.get(RecordAttribute.STATUS, {}).get("S", "")
    if status == "INPROGRESS":
        until = item.get(RecordAttribute.IN_PROGRESS_EXPIRY, {}).get("N")
        held = until is None or int(until) > time.time() * 1000
        return RequestStatus(
            request_id,
            "in_progress" if held else "released",
            source=FROM_IDEMPOTENCY_RECORD,
            expires_at=expires,
            in_progress_until=iso(int(until) / 1000) if until else None,
        )
    data = item.get(RecordAttribute.DATA)
    result = json.loads(data["S"]) if data else {}
    return RequestStatus(
        request_id,
        str(result.get("outcome", status.lower())),
        source=FROM_IDEMPOTENCY_RECORD,
        fields={shown: result.get(stored) for stored, shown in RESULT_FIELDS.items()},
        expires_at=expires,
    )


def iso(epoch_seconds: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC, to the second (``...Z``)."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
