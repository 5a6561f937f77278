"""Sample inputs shared by every kind of test: a charge request body, and SQS events.

``charge_body`` is the one builder of a charge request. The SQS events are files under
``tests/events/`` (their sources in ``tests/events/README.md``); ``sqs_event`` puts charge
bodies into the record shape of AWS's published example, so no test writes an event inline.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).parent / "events"


def charge_body(request_id: Any, **overrides: Any) -> dict[str, Any]:
    """A valid charge request body (contract version 1), with ``overrides`` on top.

    An override of ``...`` leaves the field out (``charge_body("x", payment_method=...)``).
    """
    document = {
        "version": 1,
        "request_id": request_id,
        "customer": "cus_good",
        "amount": 1500,
        "currency": "usd",
        "payment_method": "pm_card_visa",
    } | overrides
    return {name: value for name, value in document.items() if value is not ...}


def load_event(name: str) -> dict[str, Any]:
    """The event in ``tests/events/<name>.json``, as a fresh dict a test may change."""
    document: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return document


def sqs_event(*bodies: str | dict[str, Any], like: str = "sqs_example") -> dict[str, Any]:
    """An SQS event for Lambda with one record per body, each shaped like the first record
    of ``tests/events/<like>.json``: its attributes and message attributes, a message ID
    and MD5 of its own. A dict body is sent as its JSON text."""
    (template, *_) = load_event(like)["Records"]
    records = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = text
        record["md5OfBody"] = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
        records.append(record)
    return {"Records": records}


def with_receive_count(event: dict[str, Any], receive_count: int) -> dict[str, Any]:
    """The same messages delivered again: ``ApproximateReceiveCount`` set on every record."""
    again = copy.deepcopy(event)
    for record in again["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return again
