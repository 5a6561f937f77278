"""Tell a SPIN counterexample of the charge-protocol model as a story.

Input: the output of ``spin -T -t model.pml`` (the trail replayed with printf output not
indented). The model prints one ``STORY ...`` line per step (see ``model/services.pml``);
everything else is ignored except SPIN's report of the failed assertion. Output: one line
per run of steps of one delivery, for example::

    delivery 1 (message 1, payload A, receive 1, worker 0): claim (fresh record: no look-up),
        charge with key chargeq-v1:r, worker killed
    Stripe, for delivery 1: executes key chargeq-v1:r -> pi_1 succeeded
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OUTCOMES = {1: "charged", 2: "declined", 3: "pending"}
PI_STATUSES = {1: "succeeded", 2: "processing", 3: "soft-declined", 4: "declined"}
REASONS = {
    1: "redrive policy, no reason attribute",
    2: "payload_conflict",
    3: "retries_exhausted",
    4: "stripe_idempotency_conflict",
}
PAYLOADS = {0: "A", 1: "B"}

#: What each assertion of the model stands for, by a fragment of its text.
VIOLATIONS = {
    "taken==0": "DOUBLE CHARGE: a second PaymentIntent of the request takes money",
    "pi_v[p]==v": ("WRONG OUTCOME: the outcome describes a PaymentIntent made for another payload"),
    "taken==0)": "a decline was stored while a PaymentIntent took money",
    "SETTLED": "a message never settled (neither deleted with an outcome nor dead-lettered)",
    "msg_reason": "a dead letter without a reason",
}


def key_name(index: int) -> str:
    """The Stripe idempotency key of attempt ``index`` for request_id ``r``."""
    return "chargeq-v1:r" if index == 0 else f"chargeq-v1:r:attempt-{index}"


def pi_name(index: int) -> str:
    return f"pi_{index + 1}"


@dataclass
class _Teller:
    lines: list[str] = field(default_factory=list)
    messages: dict[int, int] = field(default_factory=dict)  # slot -> message number
    next_message: int = 1
    deliveries: dict[int, int] = field(default_factory=dict)  # worker -> delivery number
    sender: dict[int, int] = field(default_factory=dict)  # worker -> delivery of its request
    next_delivery: int = 1
    current: str | None = None  # the heading of the line being extended

    def say(self, heading: str, step: str) -> None:
        if self.current == heading and self.lines:
            self.lines[-1] += f", {step}"
        else:
            self.lines.append(f"{heading}: {step}")
            self.current = heading

    def event(self, text: str) -> None:
        self.lines.append(text)
        self.current = None

    def new_message(self, slot: int) -> int:
        self.messages[slot] = self.next_message
        self.next_message += 1
        return self.messages[slot]

    def message(self, slot: int) -> str:
        return str(self.messages.get(slot, "?"))

    def heading(self, worker: int) -> str:
        number = self.deliveries.get(worker)
        return f"delivery {number if number is not None else '?'}"

    def tell(self, words: list[str]) -> None:
        if words[0] == "stripe":
            self.stripe(int(words[1]), words[2:])
        elif words[0].isdigit():
            self.worker(int(words[0]), words[1:])
        else:
            self.world(words)

    def world(self, words: list[str]) -> None:
        kind, args = words[0], [int(word) for word in words[1:] if word.isdigit()]
        if kind == "send":
            number = self.new_message(args[0])
            self.event(f"producer sends message {number} (payload {PAYLOADS[args[1]]})")
        elif kind == "duplicate":
            number = self.new_message(args[0])
            original = self.message(args[1])
            self.event(f"SQS hands out a second copy of message {original} (copy {number})")
        elif kind == "redrive_policy":
            moved = self.message(args[0])
            self.event(
                f"redrive policy moves message {moved} to the DLQ after maxReceiveCount "
                "(no chargeq-* attributes)"
            )
        elif kind == "redrive":
            old = self.message(args[0])
            number = self.new_message(args[0])
            self.event(
                f"operator redrives message {old} (StartMessageMoveTask): message {number}, "
                "new ID, new SentTimestamp, receive count 0"
            )
        elif kind == "day":
            self.event("more than 24 hours pass: Stripe prunes its idempotency keys")
        elif kind == "in_progress_expiry":
            self.event("the claim's in_progress_expiration passes (the invocation is over)")
        elif kind == "ttl_deleted":
            self.event("DynamoDB TTL deletes the idempotency record (its expiration passed)")
        else:
            self.event(" ".join(words))

    def worker(self, worker: int, words: list[str]) -> None:
        kind, args = words[0], [int(word) for word in words[1:] if word.isdigit()]
        if kind == "deliver":
            slot, payload, receive = args
            self.deliveries[worker] = self.next_delivery
            self.next_delivery += 1
            number = self.message(slot)
            heading = (
                f"{self.heading(worker)} (message {number}, payload {PAYLOADS[payload]}, "
                f"receive {receive}, worker {worker})"
            )
            self.lines.append(f"{heading}:")
            self.current = self.heading(worker)
            return
        step = self.step(kind, args)
        if kind == "charge":
            self.sender[worker] = self.deliveries.get(worker, 0)
        heading = self.heading(worker)
        if self.current == heading and self.lines and self.lines[-1].endswith(":"):
            self.lines[-1] += f" {step}"
        else:
            self.say(heading, step)

    @staticmethod
    def step(kind: str, args: list[int]) -> str:
        steps = {
            "claim_failed": "claim fails (DynamoDB error)",
            "validation_error": "claim refused: the record holds another payload",
            "in_progress": "claim refused: in progress elsewhere",
            "lookup_failed": "look-up fails",
            "lookup_conflict": "look-up finds a PaymentIntent of another payload",
            "soft_retry": "soft decline: try again later",
            "stripe_timeout": "Stripe call times out",
            "save_failed": "saving the result fails",
            "released": "claim released",
            "release_failed": "release fails",
            "retry": "reported failed (SQS will deliver again)",
            "killed": "worker killed",
            "ipx_passed": "the earlier claim's in_progress_expiration has passed",
        }
        if kind in steps:
            return steps[kind]
        if kind == "claim":
            return (
                "claim (takeover of an earlier claim: evidence)"
                if args[0]
                else "claim (fresh record: no look-up)"
            )
        if kind == "replay":
            return f"record COMPLETED: replays {OUTCOMES[args[0]]} {pi_name(args[1])}"
        if kind == "lookup_found":
            return f"look-up finds {pi_name(args[1])}: {OUTCOMES[args[0]]}"
        if kind == "lookup_none":
            return f"look-up finds no PaymentIntent to keep ({args[0]} soft declines)"
        if kind == "charge":
            return f"charge with key {key_name(args[0])}"
        if kind == "answer" and args:
            return f"Stripe answers {pi_name(args[0])} {PI_STATUSES[args[1]]}"
        if kind == "answer":
            return "Stripe answers " + " ".join(str(arg) for arg in args)
        if kind == "recorded":
            return f"record COMPLETED {OUTCOMES[args[0]]} {pi_name(args[1])}"
        if kind == "done":
            return f"message deleted ({OUTCOMES[args[0]]} {pi_name(args[1])})"
        if kind == "dead_letter":
            return f"dead-lettered ({REASONS[args[0]]})"
        return kind

    def stripe(self, worker: int, words: list[str]) -> None:
        kind, args = words[0], [int(word) for word in words[1:] if word.isdigit()]
        delivery = str(self.sender.get(worker, "?"))
        if kind == "begin":
            text = f"starts key {key_name(args[0])} (payload {PAYLOADS[args[1]]})"
        elif kind == "made":
            text = (
                f"creates {pi_name(args[0])} {PI_STATUSES[args[1]]}, saved for key "
                f"{key_name(args[2])}"
            )
        elif kind == "saved":
            text = f"saves a 500 for key {key_name(args[0])}"
        elif kind == "409":
            text = f"409: key {key_name(args[0])} still running"
        elif kind == "idempotency_error":
            text = f"idempotency_error: key {key_name(args[0])} used with other parameters"
        elif kind == "replay":
            text = f"replays the saved answer of key {key_name(args[0])}"
        elif kind == "lost":
            text = "the request never arrives"
        else:
            text = " ".join(words)
        self.say(f"  Stripe, for delivery {delivery}", text)


def tell(replay: str) -> list[str]:
    """The story of a replayed trail: one line per run of steps, then the violation."""
    teller = _Teller()
    violation = None
    for raw in replay.splitlines():
        line = raw.strip()
        if line.startswith("STORY "):
            teller.tell(line.split()[1:])
        elif any(marker in line for marker in _VIOLATION_MARKERS):
            violation = line
    if violation is not None:
        teller.event("VIOLATION: " + _explain(violation))
    return teller.lines


#: How SPIN's replay reports a violation; the failed assertion's text comes last.
_VIOLATION_MARKERS = ("assertion violated", "text of failed assertion", "acceptance cycle")


def _explain(line: str) -> str:
    text = re.sub(r"\s+", "", line)
    if "assert(!(reported_declined)" in text or "reported_declined" in text:
        return VIOLATIONS["taken==0)"]
    for fragment, meaning in VIOLATIONS.items():
        if fragment in text:
            return meaning
    return line
