"""Dead-lettering that is also written to the charges ledger (``ledger``).

Why the charge function writes this itself rather than a consumer of the DLQ: the DLQ must
keep its messages for redrive (a consumer would take them), and only the function knows
the reason. It costs one write on failure paths only, never on a charge.

Order: the ledger first, then the DLQ. If the ledger write fails, nothing was sent and the
record is reported failed (SQS delivers it again). If the DLQ send fails after the ledger
write, the ledger says ``dead_lettered`` a delivery early; the next delivery dead-letters
it again (the ledger write then changes nothing) or charges it (a forward move). A
crash between the two is the same case. So whatever is in the DLQ with a request_id is in
the ledger. **Not covered:** messages the queue's redrive policy moves after a crash or
timeout (reason ``redrive_policy``) bypass the function; the DLQ alarm covers those.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from charges.observability import count, logger
from charges.outcomes import DeadLetters, PoisonMessage, TransientFailure
from ledger.facts import Fact, Source, now
from ledger.metric_names import LedgerMetric
from ledger.states import State
from ledger.store import LedgerTable

#: The contract's shapes (``charges.contract``), checked without building a model.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,200}\Z")
_CUSTOMER = re.compile(r"^cus_[A-Za-z0-9_]{1,251}\Z")
_CURRENCY = re.compile(r"^[a-z]{3}\Z")
_MAX_DETAIL = 1000


class LedgeredDeadLetters:
    """``DeadLetters`` that record ``dead_lettered`` in the ledger before sending."""

    def __init__(self, dead_letters: DeadLetters, ledger: LedgerTable) -> None:
        self._dead_letters = dead_letters
        self._ledger = ledger

    def send(self, record: SQSRecord, failure: PoisonMessage | TransientFailure) -> None:
        """Record, then dead-letter. Raises what either raises (the record stays queued)."""
        fact = dead_letter_fact(record.body, failure)
        if fact is not None:
            try:
                self._ledger.apply(fact)
            except Exception:
                count(LedgerMetric.LEDGER_WRITE_FAILED)
                logger.exception(
                    "could not record the dead letter in the ledger",
                    message_id=record.message_id,
                    request_id=fact.request_id,
                )
                raise
        self._dead_letters.send(record, failure)


def dead_letter_fact(body: str | None, failure: PoisonMessage | TransientFailure) -> Fact | None:
    """The ledger fact for a dead-lettered body, or None when it names no usable request_id.

    Read best-effort from a body that may break the contract: each field is kept only if
    it has the contract's shape.
    """
    try:
        fields: Any = json.loads(body or "")
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    request_id = fields.get("request_id")
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        return None
    customer, amount, currency = (
        fields.get("customer"),
        fields.get("amount"),
        fields.get("currency"),
    )
    return Fact(
        request_id=request_id,
        state=State.DEAD_LETTERED,
        source=Source.DEAD_LETTER,
        at=now(),
        customer=customer if isinstance(customer, str) and _CUSTOMER.match(customer) else None,
        amount=amount if type(amount) is int and amount > 0 else None,
        currency=currency if isinstance(currency, str) and _CURRENCY.match(currency) else None,
        reason=str(failure.reason),
        detail=failure.detail[:_MAX_DETAIL] or None,
    )
