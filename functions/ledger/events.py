"""Outcome events: the detail of ``charge.<state>`` on the stack's event bus.

One event per state change of a ledger item, published from the ledger table's stream
(``outcome_events``), so an event exists if and only if the ledger recorded the change.
Delivery is at least once: consumers deduplicate on ``event_id`` (request and state; a
request reaches each state at most once). The JSON Schema of the detail is
``schema/charge-outcome.v1.json``, kept in step with this model by a test.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.states import State, event_id
from ledger.store import FACT_FIELDS

#: EventBridge ``source`` of every outcome event.
EVENT_SOURCE = "chargeq"
#: Detail types, one per state.
DETAIL_TYPES = tuple(state.detail_type for state in State)

StateName = Literal["dead_lettered", "pending", "charged", "declined", "failed"]


class OutcomeEvent(BaseModel):
    """The ``detail`` of an outcome event (version 1). Only IDs, amounts and codes."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="ChargeOutcome",
        json_schema_extra={"$id": "urn:chargeq:charge-outcome:v1"},
    )

    version: Literal[1] = 1
    event_id: str = Field(description="Stable across redeliveries: '<request_id>/<state>'.")
    request_id: str
    state: StateName
    previous_state: StateName | None = Field(
        None, description="The state this change left; null for a request's first."
    )
    occurred_at: str = Field(description="When the ledger recorded the change, ISO 8601 UTC.")
    customer: str | None = None
    amount: int | None = Field(None, description="In the currency's minor unit.")
    currency: str | None = None
    payment_intent_id: str | None = None
    stripe_status: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    reason: str | None = Field(None, description="Why it was dead-lettered.")
    detail: str | None = None

    @property
    def detail_type(self) -> str:
        return State(self.state).detail_type


class NotAStateChange(ValueError):
    """The stream record changed an item without changing its state."""


def outcome_event(new: dict[str, Any], old: dict[str, Any] | None) -> OutcomeEvent:
    """The event announcing the change from ``old`` to ``new`` (ledger items, plain values).

    Raises ``NotAStateChange`` when the state did not change, pydantic's
    ``ValidationError`` (a ``ValueError``) when the item is not a ledger item.
    """
    state = State(new["state"])
    previous = old.get("state") if old else None
    if previous == state.value:
        raise NotAStateChange(state.value)
    return OutcomeEvent(
        event_id=event_id(new["request_id"], state),
        request_id=new["request_id"],
        state=state.value,
        previous_state=previous,
        occurred_at=new["updated_at"],
        **{name: new.get(name) for name in FACT_FIELDS},
    )


def json_schema() -> dict[str, Any]:
    """The detail's JSON Schema, as published under ``schema/``."""
    schema = OutcomeEvent.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
