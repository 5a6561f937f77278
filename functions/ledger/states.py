"""A charge request's states in the ledger and the order they move in.

Each state has a rank; a transition is written only to a higher rank, so a state never moves
backwards and an older fact never overwrites a newer one, whatever order facts arrive in:

- ``dead_lettered`` (1): the request went to the DLQ with a reason. A redrive may still
  charge it, so every other state is forward of it.
- ``pending`` (2): the PaymentIntent is ``processing`` (a bank debit); a webhook settles it.
- ``charged``, ``declined``, ``failed`` (3): final. ``failed`` is a ``pending`` request whose
  PaymentIntent failed afterwards (``payment_intent.payment_failed``).

A request reaches each state at most once, so ``request_id`` and state name each state
change: the outcome event's stable ID.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Ledger states; the outcome event of each is ``charge.<state>``."""

    DEAD_LETTERED = "dead_lettered"
    PENDING = "pending"
    CHARGED = "charged"
    DECLINED = "declined"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Position in the order of states; higher is later."""
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self.rank == FINAL_RANK

    @property
    def detail_type(self) -> str:
        """The EventBridge ``detail-type`` of the event announcing this state."""
        return f"charge.{self.value}"


FINAL_RANK = 3
_RANK = {
    State.DEAD_LETTERED: 1,
    State.PENDING: 2,
    State.CHARGED: FINAL_RANK,
    State.DECLINED: FINAL_RANK,
    State.FAILED: FINAL_RANK,
}


def event_id(request_id: str, state: State) -> str:
    """The stable ID of the event announcing that ``request_id`` reached ``state``."""
    return f"{request_id}/{state.value}"
