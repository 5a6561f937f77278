"""Bank debits: payment methods whose PaymentIntent waits in ``processing`` and settles later.

Stripe's test bank accounts (docs.stripe.com/testing, "Bank debits";
docs.stripe.com/payments/ach-direct-debit/accept-a-payment, "Test account numbers"):

ACH Direct Debit (``us_bank_account``, usd only)::

    pm_usBankAccount_success              processing -> succeeded
    pm_usBankAccount_dispute              processing -> succeeded (the dispute is not modelled)
    pm_usBankAccount_accountClosed        processing -> requires_payment_method, account_closed
    pm_usBankAccount_noAccount            ... no_account
    pm_usBankAccount_insufficientFunds    ... insufficient_funds
    pm_usBankAccount_debitNotAuthorized   ... debit_not_authorized
    pm_usBankAccount_invalidCurrency      ... invalid_currency
    pm_usBankAccount_weeklyLimitExceeded  ... charge_exceeds_weekly_limit
    pm_usBankAccount_processing           stays in processing

SEPA Direct Debit (``sepa_debit``, eur only), ``pm_sepaDebit_<scenario>_<country>`` for each
country Stripe lists (``_de``, ``_at``, ``_fr``, ...)::

    success, disputed                     processing -> succeeded
    successDelayed                        processing -> succeeded, after the longer delay
    failed                                processing -> requires_payment_method, generic
    failedDelayed                         the same, after the longer delay
    insufficientFunds                     ... insufficient_funds
    exceedsWeeklyVolumeLimit              ... charge_exceeds_source_limit
    exceedsWeeklyTransactionLimit         ... charge_exceeds_weekly_limit

Timing: Stripe's test mode moves these "after about 3 minutes" for the delayed accounts and
within moments for the others; live bank debits take days. The emulator waits
``BankDebitDelays`` on its own clock (configurable; a ``ManualClock`` jumps). A failure sets
``last_payment_error`` (``type`` ``card_error``, the bank's ``code``) and puts the intent back
in ``requires_payment_method``; a success sets ``amount_received``.

Not modelled: mandates (an off-session debit needs one from a SetupIntent; here none is
asked for), microdeposit verification, disputes, ``pm_usBankAccount_riskLevelHighest`` and
``pm_usBankAccount_failMicrodeposits``, ``payment_method_types`` checks.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field
from typing import Any, Literal

from stripe_emulator.responses import invalid_request, new_id

Intent = dict[str, Any]

#: Countries for which Stripe publishes SEPA test IBANs and tokens.
SEPA_COUNTRIES = frozenset(
    {"at", "be", "hr", "ee", "fi", "fr", "de", "gi", "ie", "it", "li", "lt", "lu"}
    | {"mt", "nl", "no", "pl", "pt", "ro", "si", "sk", "es", "se", "ch", "gb"}
)


@dataclass(frozen=True)
class BankDebit:
    """What the bank does with a debit from one test account."""

    type: Literal["us_bank_account", "sepa_debit"]
    currency: str
    result: Literal["succeeded", "failed", "never"]
    delayed: bool = False
    code: str | None = None
    message: str = "The payment failed."


def _ach(result: Literal["succeeded", "failed", "never"], code: str | None = None) -> BankDebit:
    messages = {
        "account_closed": "The customer's bank account has been closed.",
        "no_account": "The customer's bank account could not be located.",
        "insufficient_funds": "The customer's account has insufficient funds to cover this "
        "payment.",
        "debit_not_authorized": "The customer has notified their bank that this payment was "
        "unauthorized.",
        "invalid_currency": "The bank account cannot be debited in this currency.",
        "charge_exceeds_weekly_limit": "The payment exceeds the weekly volume limit.",
    }
    message = messages.get(code or "", "")
    return BankDebit("us_bank_account", "usd", result, code=code, message=message)


#: ACH test tokens (docs.stripe.com/payments/ach-direct-debit/accept-a-payment).
US_BANK_ACCOUNTS: dict[str, BankDebit] = {
    "pm_usBankAccount_success": _ach("succeeded"),
    "pm_usBankAccount_dispute": _ach("succeeded"),
    "pm_usBankAccount_accountClosed": _ach("failed", "account_closed"),
    "pm_usBankAccount_noAccount": _ach("failed", "no_account"),
    "pm_usBankAccount_insufficientFunds": _ach("failed", "insufficient_funds"),
    "pm_usBankAccount_debitNotAuthorized": _ach("failed", "debit_not_authorized"),
    "pm_usBankAccount_invalidCurrency": _ach("failed", "invalid_currency"),
    "pm_usBankAccount_weeklyLimitExceeded": _ach("failed", "charge_exceeds_weekly_limit"),
    "pm_usBankAccount_processing": _ach("never"),
}

#: SEPA scenarios by token infix (docs.stripe.com/testing, "SEPA Direct Debit").
SEPA_SCENARIOS: dict[str, BankDebit] = {
    "success": BankDebit("sepa_debit", "eur", "succeeded"),
    "disputed": BankDebit("sepa_debit", "eur", "succeeded"),
    "successDelayed": BankDebit("sepa_debit", "eur", "succeeded", delayed=True),
    "failed": BankDebit("sepa_debit", "eur", "failed"),
    "failedDelayed": BankDebit("sepa_debit", "eur", "failed", delayed=True),
    "insufficientFunds": BankDebit(
        "sepa_debit", "eur", "failed", code="insufficient_funds",
        message="The customer's account has insufficient funds to cover this payment.",
    ),
    "exceedsWeeklyVolumeLimit": BankDebit(
        "sepa_debit", "eur", "failed", code="charge_exceeds_source_limit",
        message="The payment exceeds the weekly volume limit.",
    ),
    "exceedsWeeklyTransactionLimit": BankDebit(
        "sepa_debit", "eur", "failed", code="charge_exceeds_weekly_limit",
        message="The payment exceeds the weekly transaction limit.",
    ),
}  # fmt: skip


def lookup(payment_method: str) -> BankDebit | None:
    """The bank debit behind a test payment method ID, or None (not a bank debit)."""
    if payment_method in US_BANK_ACCOUNTS:
        return US_BANK_ACCOUNTS[payment_method]
    prefix, _, rest = payment_method.partition("pm_sepaDebit_")
    scenario, _, country = rest.rpartition("_")
    if prefix == "" and country in SEPA_COUNTRIES:
        return SEPA_SCENARIOS.get(scenario)
    return None


def start(intent: Intent, payment_method: str, debit: BankDebit) -> None:
    """Confirm ``intent`` with a bank debit: it waits in ``processing``.

    Raises a 400 when the currency is not the one the bank debit takes (ACH: usd, SEPA:
    eur), the stricter reading of Stripe's per-method currency support.
    """
    if intent["currency"] != debit.currency:
        raise invalid_request(
            f"The currency provided ({intent['currency']}) is invalid. Payments with "
            f"{debit.type} support the following currencies: {debit.currency}.",
            param="currency",
        )
    intent.update(status="processing", payment_method=payment_method, latest_charge=new_id("py"))
    if debit.type not in intent["payment_method_types"]:
        intent["payment_method_types"] = [*intent["payment_method_types"], debit.type]


def settle(intent: Intent, debit: BankDebit, payment_method: dict[str, Any]) -> str:
    """Move a ``processing`` intent to its end; returns the event type Stripe sends.

    A failure's ``last_payment_error.payment_method`` is the whole PaymentMethod object
    debited (``payment_method``), as on every PaymentIntent error (API reference, "The
    PaymentIntent object", ``last_payment_error``).
    """
    if debit.result == "succeeded":
        intent.update(status="succeeded", amount_received=intent["amount"])
        return "payment_intent.succeeded"
    error: dict[str, Any] = {
        "type": "card_error",
        "message": debit.message,
        "payment_method": copy.deepcopy(payment_method),
    }
    if debit.code:
        error["code"] = debit.code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{debit.code.replace('_', '-')}"
    intent.update(status="requires_payment_method", payment_method=None, last_payment_error=error)
    return "payment_intent.payment_failed"


@dataclass(frozen=True)
class BankDebitDelays:
    """Seconds on the emulator's clock from ``processing`` to the end: ``settle_seconds``
    for most test accounts, ``delayed_settle_seconds`` for the "Delayed" ones (Stripe: about
    three minutes)."""

    settle_seconds: float = 3.0
    delayed_settle_seconds: float = 180.0

    def __post_init__(self) -> None:
        if self.settle_seconds < 0 or self.delayed_settle_seconds < 0:
            raise ValueError("bank-debit delays cannot be negative")


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    intent_id: str = field(compare=False)
    debit: BankDebit = field(compare=False)
    payment_method: dict[str, Any] = field(compare=False)


class Settlements:
    """Bank debits waiting to settle, earliest first. No locking: the state calls it under
    its lock."""

    def __init__(self, delays: BankDebitDelays) -> None:
        self.delays = delays
        self._pending: list[_Pending] = []
        self._sequence = 0

    def schedule(
        self, intent: Intent, debit: BankDebit, payment_method: dict[str, Any], now: float
    ) -> None:
        """Remember a ``processing`` intent confirmed with ``debit``, the bank account of the
        PaymentMethod object ``payment_method`` (kept as it was at confirmation)."""
        if intent["status"] != "processing" or debit.result == "never":
            return
        delay = self.delays.delayed_settle_seconds if debit.delayed else self.delays.settle_seconds
        self._sequence += 1
        pending = _Pending(
            now + delay, self._sequence, intent["id"], debit, copy.deepcopy(payment_method)
        )
        heapq.heappush(self._pending, pending)

    def due(self, now: float) -> list[tuple[str, BankDebit, dict[str, Any]]]:
        """The debits whose time has come, oldest first (each once): intent ID, bank debit,
        PaymentMethod object."""
        ready = []
        while self._pending and self._pending[0].due <= now:
            item = heapq.heappop(self._pending)
            ready.append((item.intent_id, item.debit, item.payment_method))
        return ready

    def __len__(self) -> int:
        return len(self._pending)


def snapshot(intent: Intent) -> Intent:
    """A copy of the intent as it is now, for an event's ``data.object``."""
    return copy.deepcopy(intent)
