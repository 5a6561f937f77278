"""What follows a PaymentIntent's change of status: its Event, the webhook deliveries of
that Event, and (for a bank debit) its settlement later on the emulator's clock.

The state calls this under its lock: on every confirmed create, and on every ``tick`` (the
webhook sender's heartbeat, and each move of the clock), when due bank debits settle.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from stripe_emulator import async_payments
from stripe_emulator.async_payments import BankDebit, BankDebitDelays, Settlements
from stripe_emulator.faults import FaultPlan, RequestFacts
from stripe_emulator.webhooks import Delivery, Outbox, WebhookEndpoint, new_event

Intent = dict[str, Any]

#: The event Stripe sends when a confirm leaves an intent in this status.
_EVENT_FOR_STATUS = {
    "processing": "payment_intent.processing",
    "succeeded": "payment_intent.succeeded",
}


class EventFlow:
    """Events made so far, bank debits still settling, and the webhook outbox."""

    def __init__(
        self,
        *,
        api_version: str,
        endpoints: Iterable[WebhookEndpoint],
        backoff_scale: float,
        delays: BankDebitDelays,
        count_fault: Callable[[str], None],
    ) -> None:
        self.api_version = api_version
        self._count_fault = count_fault
        self.events: list[dict[str, Any]] = []
        self.outbox = Outbox(endpoints, backoff_scale)
        self.settlements = Settlements(delays)

    def confirmed(
        self,
        intent: Intent,
        *,
        debit: BankDebit | None,
        payment_method: dict[str, Any] | None,
        declined: bool,
        now: float,
        plan: FaultPlan,
        request_id: str,
        idempotency_key: str | None,
    ) -> None:
        """An API request confirmed ``intent``: its event, and the settlement of a bank
        ``debit`` from the PaymentMethod object ``payment_method``."""
        event_type = "payment_intent.payment_failed" if declined else None
        event_type = event_type or _EVENT_FOR_STATUS.get(intent["status"])
        if event_type is None:  # requires_action, requires_capture: not modelled
            return
        self._emit(event_type, intent, now, plan, request_id, idempotency_key)
        if debit is not None and payment_method is not None:
            self.settlements.schedule(intent, debit, payment_method, now)

    def tick(self, now: float, intents: dict[str, Intent], plan: FaultPlan) -> list[Delivery]:
        """Settle the bank debits due by ``now``; returns the deliveries due by then."""
        self.settle_due(now, intents, plan)
        return self.outbox.due(now)

    def settle_due(self, now: float, intents: dict[str, Intent], plan: FaultPlan) -> None:
        """Move every bank debit due by ``now`` to its end, with its event."""
        for intent_id, debit, payment_method in self.settlements.due(now):
            intent = intents.get(intent_id)
            if intent is None or intent["status"] != "processing":
                continue
            event_type = async_payments.settle(intent, debit, payment_method)
            self._emit(event_type, intent, now, plan, None, None)

    def _emit(
        self,
        event_type: str,
        intent: Intent,
        now: float,
        plan: FaultPlan,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> None:
        event = new_event(
            event_type,
            copy.deepcopy(intent),
            created=int(now),
            api_version=self.api_version,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        event["pending_webhooks"] = len(self.outbox.endpoints)
        self.events.append(event)
        facts = RequestFacts(
            endpoint="webhook",
            request_id=(intent.get("metadata") or {}).get("request_id"),
            customer=intent.get("customer"),
            event_type=event_type,
        )
        if not self.outbox.endpoints:
            return
        copies, delay, fired = plan.for_webhook(facts)
        for kind in fired:
            self._count_fault(kind)
        self.outbox.publish(event, now, copies, delay)
