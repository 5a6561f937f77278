"""Scenario 12: a stateful property test that interleaves deliveries, crashes, timeouts,
key pruning and redrives, and checks the invariants after every step.

In-process for speed (moto's ``mock_aws``, the handler called directly, the emulator over
HTTP). A crash is a ``BaseException`` raised around the Stripe call: like a killed process,
it skips Powertools' clean-up, so the in-progress record stays behind, and it fails the
whole invocation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws

from chargeq.dlq import move_all
from chargeq.settings import PipelineSettings
from charges.payments import PaymentGateway
from stripe_emulator import StripeEmulator
from tests.harness import API_KEY, Pipeline, build_pipeline
from tests.samples import charge_body


class Crash(BaseException):
    """The process died: nothing after this point runs, no clean-up either."""


class Armed:
    """Crashes armed by the machine, fired by the crashing gateway."""

    before = 0
    after = 0


class CrashingGateway:
    """The function's Stripe gateway (wrapped through the ``wrap_gateway`` test seam),
    crashing before or after the charge when armed."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner

    def charge(self, request: Any, *args: Any, **options: Any) -> Any:
        if Armed.before:
            Armed.before -= 1
            raise Crash("killed before Stripe")
        result = self._inner.charge(request, *args, **options)
        if Armed.after:
            Armed.after -= 1
            raise Crash("killed after Stripe answered")
        return result


@pytest.fixture(scope="module")
def emulator() -> Iterator[StripeEmulator]:
    with StripeEmulator(api_key=API_KEY) as running:
        ChargeMachine.stripe = running
        yield running


class ChargeMachine(RuleBasedStateMachine):
    stripe: StripeEmulator

    def __init__(self) -> None:
        super().__init__()
        self.stripe.reset()
        Armed.before = Armed.after = 0
        self.mock = mock_aws()
        self.mock.start()
        self.pipeline: Pipeline = build_pipeline(
            boto3.Session(region_name="us-east-1"),
            PipelineSettings(stage="machine", max_receive_count=4),
            self.stripe.url,
            API_KEY,
            wrap_gateway=CrashingGateway,
        )
        # In-progress claims of a crashed invocation expire almost at once.
        self.pipeline.function_timeout_seconds = 0.01
        self.sent: dict[str, dict[str, Any]] = {}

    def invoke_crashing(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.pipeline.invoke(event)
        except Crash as crash:
            raise RuntimeError(f"invocation died: {crash}") from None

    # Rules: what the world can do next.

    @rule(card=st.sampled_from(["saved", "saved", "pm_card_visa_chargeDeclined"]))
    def send_new_request(self, card: str) -> None:
        request_id = f"m-{len(self.sent)}"
        body = charge_body(
            request_id,
            customer=self.pipeline.customer.id,
            amount=100 + len(self.sent),
            payment_method=self.pipeline.customer.payment_method if card == "saved" else card,
        )
        self.sent[request_id] = body
        self.pipeline.send(body)

    @rule(data=st.data())
    def send_again(self, data: st.DataObject) -> None:
        if self.sent:
            request_id = data.draw(st.sampled_from(sorted(self.sent)))
            self.pipeline.send(self.sent[request_id])

    @rule(data=st.data())
    def send_conflicting(self, data: st.DataObject) -> None:
        if self.sent:
            request_id = data.draw(st.sampled_from(sorted(self.sent)))
            self.pipeline.send(self.sent[request_id] | {"amount": 1})

    @rule()
    def deliver(self) -> None:
        self.pipeline.source.poll_once(self.invoke_crashing, retry_now=True)

    @rule()
    def crash_before_stripe(self) -> None:
        Armed.before += 1

    @rule()
    def crash_after_stripe(self) -> None:
        Armed.after += 1

    @rule()
    def lose_responses(self) -> None:
        # Every SDK try of the next charge fails; the last one committed the charge.
        self.stripe.add_fault({"kind": "drop_before", "count": 2})
        self.stripe.add_fault({"kind": "drop_after_commit", "count": 1})

    @rule()
    def stripe_outage(self) -> None:
        self.stripe.add_fault({"kind": "server_error_before", "status": 503, "count": 3})

    @rule()
    def prune_stripe_keys(self) -> None:
        self.stripe.advance(25 * 3600)

    @rule()
    def redrive(self) -> None:
        # SQS's own move task (the local one, on the strict client): every message.
        move_all(
            self.pipeline.sqs,
            self.pipeline.resources.dlq_url,
            self.pipeline.resources.queue_url,
            poll_seconds=0.02,
        )

    # Invariants: what must hold after every step.

    @invariant()
    def nobody_is_charged_twice(self) -> None:
        assert self.stripe.double_charges() == []

    @invariant()
    def every_recorded_charge_is_the_one_stripe_made(self) -> None:
        ledger = self.stripe.ledger()["by_request_id"]
        table = self.pipeline.resources.table_name
        for item in self.pipeline.dynamodb.scan(TableName=table)["Items"]:
            if item["status"]["S"] != "COMPLETED":
                continue
            result = json.loads(item["data"]["S"])
            if result["outcome"] == "charged":
                entry = ledger[result["request_id"]]
                assert result["payment_intent_id"] in entry["payment_intents"]
                assert entry["succeeded"] == 1

    def teardown(self) -> None:
        # Let everything finish: faults cleared, crashes disarmed, DLQ redriven once.
        try:
            Armed.before = Armed.after = 0
            self.stripe.clear_faults()
            self.pipeline.drain()
            self.redrive()
            self.pipeline.drain()
            self.nobody_is_charged_twice()
        finally:
            self.mock.stop()


@pytest.mark.usefixtures("emulator")
def test_interleaved_faults_never_charge_twice():
    run_state_machine_as_test(
        ChargeMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
