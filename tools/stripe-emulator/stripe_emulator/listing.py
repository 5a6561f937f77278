"""``GET /v1/payment_intents``: filters, cursor pagination and Stripe's ``list`` object.

Listing by customer and ``created`` range is strongly consistent in Stripe (unlike the
Search API), which is why the pipeline reconciles through it; here it reads the same
state the create just wrote.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stripe_emulator.forms import Params, read_integer, read_string, reject_unknown
from stripe_emulator.responses import invalid_request, no_such

Intent = dict[str, Any]

_LIST_PARAMS = frozenset(
    {"customer", "created", "limit", "starting_after", "ending_before", "expand"}
)
_CREATED_OPERATORS = frozenset({"gt", "gte", "lt", "lte"})


@dataclass(frozen=True)
class ListQuery:
    """Validated parameters of ``GET /v1/payment_intents``."""

    customer: str | None
    created: dict[str, int]
    limit: int
    starting_after: str | None
    ending_before: str | None


def parse_list(params: Params) -> ListQuery:
    """Check the list filters; 400 on the first problem."""
    reject_unknown(params, _LIST_PARAMS)
    limit = read_integer(params, "limit")
    if limit is None:
        limit = 10
    if not 1 <= limit <= 100:
        raise invalid_request(
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            param="limit",
        )
    created: dict[str, int] = {}
    raw_created = params.get("created")
    if isinstance(raw_created, dict):
        for operator in raw_created:
            if operator not in _CREATED_OPERATORS:
                raise invalid_request(
                    f"Received unknown parameter: created[{operator}]", param="created"
                )
            bound = read_integer(raw_created, operator, param=f"created[{operator}]")
            if bound is not None:
                created[operator] = bound
    elif raw_created is not None:
        # ``created=<ts>`` is an exact match.
        exact = read_integer(params, "created")
        if exact is not None:
            created = {"gte": exact, "lte": exact}
    starting_after = read_string(params, "starting_after")
    ending_before = read_string(params, "ending_before")
    if starting_after and ending_before:
        raise invalid_request(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="starting_after",
        )
    return ListQuery(read_string(params, "customer"), created, limit, starting_after, ending_before)


def page(newest_first: list[Intent], query: ListQuery) -> dict[str, Any]:
    """One page of a Stripe ``list`` object; ``newest_first`` is every intent, newest first.

    A cursor is a position in the whole list, so the page holds the matching intents just
    after (``starting_after``) or just before (``ending_before``) it, always newest first.
    """
    position = {intent["id"]: index for index, intent in enumerate(newest_first)}
    cursor = query.starting_after or query.ending_before
    if cursor is not None and cursor not in position:
        param = "starting_after" if query.starting_after else "ending_before"
        raise no_such("payment_intent", cursor, param=param)
    if query.starting_after:
        candidates = newest_first[position[query.starting_after] + 1 :]
    elif query.ending_before:
        # Walk from the cursor towards newer intents; reversed back to newest first below.
        candidates = newest_first[: position[query.ending_before]][::-1]
    else:
        candidates = newest_first
    selected: list[Intent] = []
    has_more = False
    for intent in candidates:
        if not _matches(intent, query):
            continue
        if len(selected) == query.limit:
            has_more = True
            break
        selected.append(intent)
    if query.ending_before:
        selected.reverse()
    return {
        "object": "list",
        "data": [copy.deepcopy(intent) for intent in selected],
        "has_more": has_more,
        "url": "/v1/payment_intents",
    }


def _matches(intent: Intent, query: ListQuery) -> bool:
    if query.customer is not None and intent["customer"] != query.customer:
        return False
    created = intent["created"]
    bounds = query.created
    return not (
        ("gt" in bounds and created <= bounds["gt"])
        or ("gte" in bounds and created < bounds["gte"])
        or ("lt" in bounds and created >= bounds["lt"])
        or ("lte" in bounds and created > bounds["lte"])
    )
