"""Check a finished run against its workload, and print what happened.

The invariants, from the product's promise: no request is charged twice, and every
request ends in exactly one known state (charged, declined, pending, or in the DLQ with a
reason). A ``pending`` request (a bank debit in ``processing``) must have exactly one
PaymentIntent at Stripe: a second one would debit the account twice once both settle.
The outcome side (``outcome_check``): the ledger's final state equals Stripe's for every
request, every state change was published at least once, nothing else was.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from chargeq_local.outcome_check import OutcomeCheck
from chargeq_local.workload import Workload


@dataclass
class RunReport:
    """Figures of one local run; ``invariants_hold`` decides the exit status."""

    requests: int
    messages: int
    payment_intents: int
    charged: int
    declined: int
    double_charges: int
    lost: int
    wrong_outcome: int
    dead_letters: dict[str, int]
    wall_seconds: float
    #: Good requests that ended in the DLQ because their deliveries ran out: known, not
    #: lost, but more than ``gave_up_limit`` of them means the pipeline failed most of its
    #: work (a broken worker, say), which no run may call OK.
    gave_up: int = 0
    gave_up_limit: int = 0
    pending: int = 0
    invocations: int = 0
    redelivered: int = 0
    failed_records: int = 0
    twin_deliveries: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)  # Stripe's 429s, by limit
    #: Requests the emulator answered, by kind (``stripe_emulator.ledger.REQUEST_COUNTERS``).
    stripe_requests: dict[str, int] = field(default_factory=dict)
    #: The ledger and outcome events, checked against Stripe and the DLQ (None: not read).
    outcomes: OutcomeCheck | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def invariants_hold(self) -> bool:
        return (
            self.double_charges == 0
            and self.lost == 0
            and self.wrong_outcome == 0
            and self.gave_up <= self.gave_up_limit
            and (self.outcomes is None or self.outcomes.holds)
        )

    def outcome_rows(self) -> list[tuple[str, Any]]:
        """The outcome side's rows: events by kind, settlements, the three checks."""
        outcomes = self.outcomes
        if outcomes is None:
            return []
        rows: list[tuple[str, Any]] = [
            (f"outcome events: {kind}", count)
            for kind, count in sorted(outcomes.events_by_kind.items())
        ]
        rows.append(("outcome events delivered again (deduplicated)", outcomes.duplicate_events))
        rows += [
            (f"settled by webhook: {change}", count)
            for change, count in sorted(outcomes.settled.items())
        ]
        rows += [
            ("ledger items", outcomes.ledger_items),
            ("ledger disagrees with Stripe (must be 0)", outcomes.ledger_mismatches),
            ("state changes never published (must be 0)", outcomes.unpublished),
            ("events the ledger never recorded (must be 0)", outcomes.phantom_events),
            ("waited for streams and webhooks", f"{outcomes.drain_seconds:.1f} s"),
        ]
        return rows

    @property
    def throughput(self) -> float:
        return self.messages / self.wall_seconds if self.wall_seconds else 0.0

    def to_json(self) -> str:
        document = asdict(self) | {
            "invariants_hold": self.invariants_hold,
            "throughput_per_second": round(self.throughput, 1),
        }
        return json.dumps(document, indent=2)

    def render(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("requests", self.requests),
            ("messages sent", self.messages),
            ("invocations", self.invocations),
            ("deliveries repeated by SQS", self.redelivered),
            ("records failed and retried", self.failed_records),
            ("PaymentIntents at Stripe", self.payment_intents),
            ("charged", self.charged),
            ("declined", self.declined),
            ("pending (bank debits processing)", self.pending),
            ("double charges (must be 0)", self.double_charges),
            ("lost (must be 0)", self.lost),
            ("wrong outcome (must be 0)", self.wrong_outcome),
            (f"good requests dead-lettered (at most {self.gave_up_limit})", self.gave_up),
        ]
        if self.twin_deliveries:
            rows.append(("batches delivered to two workers at once", self.twin_deliveries))
        rows += [(f"DLQ: {reason}", count) for reason, count in sorted(self.dead_letters.items())]
        rows += [(f"fault injected: {kind}", count) for kind, count in sorted(self.faults.items())]
        rows += [
            (f"Stripe 429: {limit}", count) for limit, count in sorted(self.rate_limited.items())
        ]
        rows += self.outcome_rows()
        rows += [
            ("wall time", f"{self.wall_seconds:.1f} s"),
            ("throughput", f"{self.throughput:.1f} messages/s"),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label:<{width}}  {value}" for label, value in rows]
        verdict = "OK: every request charged at most once and accounted for"
        if self.outcomes is not None:
            verdict += "; the ledger agrees with Stripe and every change was published"
        if not self.invariants_hold:
            verdict = "FAILED: " + "; ".join(self.problems[:10])
        return "\n".join([*lines, "", verdict])


def check(
    workload: Workload,
    *,
    records: dict[str, dict[str, Any]],
    dead_letters: list[tuple[str, str | None]],
    succeeded_by_request: dict[str, int],
    payment_intents: int,
    wall_seconds: float,
    created_by_request: dict[str, int] | None = None,
    outcomes: OutcomeCheck | None = None,
) -> RunReport:
    """Compare the final state with what the workload must have produced.

    ``records`` maps request_id to its idempotency status (``chargeq.status``);
    ``dead_letters`` holds (reason, request_id or None) per DLQ message;
    ``succeeded_by_request`` is the emulator's count of succeeded PaymentIntents and
    ``created_by_request`` of every PaymentIntent made for the request (a ``pending``
    request must have exactly one).
    A good request whose retries ran out is in the DLQ with a reason: known, not lost.
    ``outcomes`` is the ledger and events' check (``outcome_check``); its problems join.
    """
    problems: list[str] = []
    lost = wrong = gave_up = 0
    # Known states for a good request besides charged/declined: dead-lettered because its
    # retries ran out, or moved by the redrive policy after crashes.
    exhausted = {
        rid for reason, rid in dead_letters if reason in ("retries_exhausted", "redrive_policy")
    }
    created = created_by_request or {}
    pending_doubles: list[str] = []
    # No outcome stored yet: a claim held, released after a failed attempt, or none at all.
    unsettled = ("not_found", "in_progress", "released")
    for request_id, expected in workload.outcomes.items():
        state = records.get(request_id, {}).get("state", "not_found")
        if state in unsettled and request_id in exhausted:
            gave_up += 1
            continue
        if state in unsettled:
            lost += 1
            problems.append(f"{request_id} is {state}")
        elif state != expected and not (expected == "pending" and state == "charged"):
            # A bank debit is recorded pending, or charged when a later delivery's look-up
            # found its PaymentIntent already settled (succeeded).
            wrong += 1
            problems.append(f"{request_id} is {state}, expected {expected}")
        charges = succeeded_by_request.get(request_id, 0)
        made = created.get(request_id, 0)
        if expected == "pending":
            # The emulator counts a PaymentIntent as succeeded only if it was at creation;
            # a debit settles later, so its one PaymentIntent is what is checked.
            if made != 1 and state in ("pending", "charged"):
                if made > 1:
                    pending_doubles.append(request_id)
                else:
                    wrong += 1
                problems.append(f"{request_id} is {state} but Stripe has {made} PaymentIntents")
        elif state == "charged" and charges != 1:
            wrong += 1
            problems.append(f"{request_id} recorded charged but Stripe has {charges} charges")

    found = Counter(reason for reason, _ in dead_letters)
    # A good request dead-lettered after retries counts under its reason, not as poison.
    for reason, count in workload.dead_letters.items():
        if found[reason] < count:
            lost += count - found[reason]
            problems.append(f"{count - found[reason]} {reason} message(s) missing from the DLQ")
    # Faults make a few good requests run out of deliveries; most of them never may.
    gave_up_limit = max(2, workload.requests // 20)
    if gave_up > gave_up_limit:
        problems.append(
            f"{gave_up} good requests ended in the DLQ after their deliveries ran out (at most "
            f"{gave_up_limit} expected): the function failed most of its work; see its log"
        )
    doubles = [rid for rid, count in succeeded_by_request.items() if count > 1]
    problems += [f"{rid} charged {succeeded_by_request[rid]} times" for rid in doubles]
    doubles += [rid for rid in pending_doubles if rid not in doubles]
    if outcomes is not None:
        problems += outcomes.problems
    return RunReport(
        requests=workload.requests,
        messages=len(workload.messages),
        payment_intents=payment_intents,
        charged=sum(1 for r in records.values() if r.get("state") == "charged"),
        declined=sum(1 for r in records.values() if r.get("state") == "declined"),
        pending=sum(1 for r in records.values() if r.get("state") == "pending"),
        double_charges=len(doubles),
        lost=lost,
        wrong_outcome=wrong,
        gave_up=gave_up,
        gave_up_limit=gave_up_limit,
        dead_letters=dict(found),
        wall_seconds=wall_seconds,
        outcomes=outcomes,
        problems=problems,
    )
