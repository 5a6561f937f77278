"""The ledger table: conditional transitions, reads, and a customer's charges by time.

Item (key ``request_id``)::

    request_id, state, state_rank, customer, amount, currency, payment_intent_id,
    stripe_status, error_code, decline_code, reason, detail (the last two while
    dead-lettered), created_at, updated_at (ISO 8601 UTC), transitions: [{state, at,
    source, payment_intent_id?, reason?, stripe_event_id?}, ...], and while ``pending``
    only: pending_partition ("pending"), pending_since (ISO 8601 UTC)

Every write is one conditional ``UpdateItem``: it applies only if the fact's state ranks
above the stored one (and, for ``failed``, only to a request pending on that
PaymentIntent), so repeated and late facts change nothing. The table keeps no TTL: the
ledger is the lasting record of every charge.

The pending index is sparse: the same UpdateItem that makes a request ``pending`` sets its
two key attributes, and any later one (a state only moves forward, and ``pending`` is left
for good) removes them, so the index holds exactly the requests pending now, ordered by
when they became pending. The pending check queries it off the charge path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from ledger.facts import Fact, timestamp
from ledger.states import State


class LedgerAttribute:
    """Attribute names, read by the stack (key, index) and every reader."""

    KEY = "request_id"
    STATE = "state"
    RANK = "state_rank"
    CUSTOMER = "customer"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    TRANSITIONS = "transitions"
    #: The pending index's keys, present only while the request is pending.
    PENDING_PARTITION = "pending_partition"
    PENDING_SINCE = "pending_since"


#: Environment variable naming the ledger table, in every function that reads or writes it.
LEDGER_TABLE_ENV = "LEDGER_TABLE_NAME"

#: The GSI listing a customer's charges by the time the ledger first heard of them.
CUSTOMER_INDEX = "by-customer"
#: The sparse GSI of the requests pending now, by the time they became pending (keys only).
PENDING_INDEX = "pending-since"
#: The one partition of the pending index: a query needs a partition value, and pending
#: requests are few (bank debits awaiting settlement), far below one partition's limits.
PENDING_PARTITION_VALUE = "pending"

#: The fields a fact may carry, stored under their own names (``ledger.facts.Fact``).
FACT_FIELDS = (
    "customer",
    "amount",
    "currency",
    "payment_intent_id",
    "stripe_status",
    "error_code",
    "decline_code",
    "reason",
    "detail",
)
#: Meaningful only while dead-lettered; removed when a redrive moves the request on.
_DEAD_LETTER_ONLY = ("reason", "detail")


class LedgerTable:
    """The ledger over a DynamoDB client (low-level, typed attribute values)."""

    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._dynamodb = dynamodb_client
        self.table_name = table_name

    def apply(self, fact: Fact) -> bool:
        """Move the request to ``fact.state`` if that is forward; False if it is not (the
        state is already there or later: a repeat, a late or a foreign fact).

        Raises botocore's ``ClientError`` for anything but the refused condition.
        """
        try:
            self._dynamodb.update_item(**update_request(self.table_name, fact))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The request's item as plain Python values (a consistent read), or None."""
        item = self._dynamodb.get_item(
            TableName=self.table_name,
            Key={LedgerAttribute.KEY: {"S": request_id}},
            ConsistentRead=True,
        ).get("Item")
        return plain(item) if item else None

    def by_customer(self, customer: str, limit: int = 50) -> list[dict[str, Any]]:
        """The customer's latest charges, newest first (the ``by-customer`` index)."""
        answer = self._dynamodb.query(
            TableName=self.table_name,
            IndexName=CUSTOMER_INDEX,
            KeyConditionExpression="#customer = :customer",
            ExpressionAttributeNames={"#customer": LedgerAttribute.CUSTOMER},
            ExpressionAttributeValues={":customer": {"S": customer}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [plain(item) for item in answer.get("Items", [])]

    def pending_since_before(self, cutoff: str) -> Iterator[dict[str, Any]]:
        """Requests pending since before ``cutoff`` (ISO 8601 UTC, as ``facts.timestamp``
        writes it), oldest first: ``request_id`` and ``pending_since`` of each.

        Pages through the sparse pending index; raises botocore's ``ClientError``.
        """
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "#partition = :partition AND #since < :cutoff",
            "ExpressionAttributeNames": {
                "#partition": LedgerAttribute.PENDING_PARTITION,
                "#since": LedgerAttribute.PENDING_SINCE,
            },
            "ExpressionAttributeValues": {
                ":partition": {"S": PENDING_PARTITION_VALUE},
                ":cutoff": {"S": cutoff},
            },
            "ScanIndexForward": True,
        }
        while True:
            answer = self._dynamodb.query(**request)
            for item in answer.get("Items", []):
                yield plain(item)
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def update_request(table_name: str, fact: Fact) -> dict[str, Any]:
    """The conditional ``UpdateItem`` that applies ``fact`` (exposed for tests and docs)."""
    at = timestamp(fact.at)
    names = {
        "#state": LedgerAttribute.STATE,
        "#rank": LedgerAttribute.RANK,
        "#created": LedgerAttribute.CREATED_AT,
        "#updated": LedgerAttribute.UPDATED_AT,
        "#transitions": LedgerAttribute.TRANSITIONS,
    }
    transition: dict[str, Any] = {
        "state": {"S": fact.state.value},
        "at": {"S": at},
        "source": {"S": fact.source.value},
    }
    for name in ("payment_intent_id", "reason", "stripe_event_id"):
        value = getattr(fact, name)
        if value is not None:
            transition[name] = {"S": value}
    values: dict[str, Any] = {
        ":state": {"S": fact.state.value},
        ":rank": {"N": str(fact.state.rank)},
        ":at": {"S": at},
        ":none": {"L": []},
        ":transition": {"L": [{"M": transition}]},
    }
    sets = [
        "#state = :state",
        "#rank = :rank",
        "#updated = :at",
        "#created = if_not_exists(#created, :at)",
        "#transitions = list_append(if_not_exists(#transitions, :none), :transition)",
    ]
    removes = []
    names["#pending_partition"] = LedgerAttribute.PENDING_PARTITION
    names["#pending_since"] = LedgerAttribute.PENDING_SINCE
    if fact.state is State.PENDING:
        values[":pending_partition"] = {"S": PENDING_PARTITION_VALUE}
        sets += ["#pending_partition = :pending_partition", "#pending_since = :at"]
    else:
        removes += ["#pending_partition", "#pending_since"]
    for name in FACT_FIELDS:
        value = getattr(fact, name)
        if value is not None:
            names[f"#{name}"] = name
            values[f":{name}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#{name} = :{name}")
        elif name in _DEAD_LETTER_ONLY and fact.state is not State.DEAD_LETTERED:
            names[f"#{name}"] = name
            removes.append(f"#{name}")
    condition = "attribute_not_exists(#state) OR #rank < :rank"
    if fact.requires_pending_on is not None:
        names["#pi"] = "payment_intent_id"
        values[":pending"] = {"S": State.PENDING.value}
        values[":pending_on"] = {"S": fact.requires_pending_on}
        condition = "#state = :pending AND #pi = :pending_on"
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {
        "TableName": table_name,
        "Key": {LedgerAttribute.KEY: {"S": fact.request_id}},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (typed attribute values) as plain Python values; numbers as int."""
    return {name: _plain_value(value) for name, value in item.items()}


def _plain_value(value: dict[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        return int(inner) if inner.lstrip("-").isdigit() else float(inner)
    if kind == "L":
        return [_plain_value(element) for element in inner]
    if kind == "M":
        return plain(inner)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    return inner
