"""The searches ``make verify`` runs, and the mutations the tests expect SPIN to refute.

Each search is exhaustive within its bounds (``-D`` defines of ``model/services.pml``);
together they stay within about two minutes on two cores. docs/protocol.md explains them.
"""

from __future__ import annotations

from chargeq_model.spin import Check

#: Two workers racing on one request: SQS duplicates, a producer re-send (same or other
#: payload), orphaned Stripe requests, 409s; one fault of any kind.
CONCURRENCY = Check("concurrency", ("NW=2", "NSLOT=2", "MAX_FAULTS=1"))

#: One worker and a long history: up to three faults (kills at every step, DynamoDB and
#: network failures), a day passing, a DLQ redrive, a second message.
FAULTS = Check("faults", ("NW=1", "NSLOT=2", "MAX_FAULTS=3"))

#: Every message settles (LTL `settles`, weak fairness): two workers, two messages.
LIVENESS = Check("liveness", ("NW=2", "NSLOT=2", "MAX_FAULTS=0"), liveness=True)

VERIFY = (CONCURRENCY, FAULTS, LIVENESS)

#: One message, one worker, no producer or SQS copies: only the redrive can bring it back.
_ONE_MESSAGE = ("NW=1", "NSLOT=1", "RESEND_SAME=0", "RESEND_OTHER=0", "SQS_DUPLICATES=0")


def mutation(name: str, *defines: str) -> Check:
    """A search for the shortest counterexample with one protocol rule switched off."""
    return Check(name, (name, *defines), breadth_first=True)


MUTATIONS = {
    "LOOKUP_OFF": mutation("LOOKUP_OFF", "NW=1", "NSLOT=2", "MAX_FAULTS=2"),
    "NO_PAYLOAD_COMPARE": mutation("NO_PAYLOAD_COMPARE", "NW=1", "NSLOT=2", "MAX_FAULTS=2"),
    "KEY_PER_DELIVERY": mutation("KEY_PER_DELIVERY", "NW=2", "NSLOT=2", "MAX_FAULTS=2"),
    "RELEASE_DELETES": mutation("RELEASE_DELETES", "NW=1", "NSLOT=2", "MAX_FAULTS=2"),
    "TODAY_LOOKUP": mutation("TODAY_LOOKUP", *_ONE_MESSAGE, "MAX_FAULTS=3"),
}

#: The first protocol's finite record expiry (queue + DLQ retention after the last claim):
#: a redriven message that goes back to the DLQ unclaimed gets a fresh retention, and its
#: next redrive outlives the record. Why records are now kept for the pipeline's life.
REDRIVE_CHAIN = mutation("REDRIVE_CHAIN", *_ONE_MESSAGE, "MAX_FAULTS=6", "MAX_REDRIVES=2")
