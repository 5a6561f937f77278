"""Which declines mean "try again": Stripe's soft declines, defined once.

Source: Stripe's decline-code table, docs.stripe.com/declines/codes ("Next steps" column).
A decline is *soft* when that column says the payment should simply be attempted again;
every other decline (insufficient funds, lost or stolen card, authentication required,
"contact the issuer", ...) is *hard*: final at once, since retrying cannot change the
answer and card networks penalise repeated attempts on them.

Stripe puts the reason in ``decline_code`` for issuer declines (``code: card_declined``),
and in ``code`` itself for some errors (``processing_error``), so both are checked.
"""

from __future__ import annotations

#: Decline codes whose next step on Stripe's table is to attempt the payment again.
SOFT_DECLINE_CODES = frozenset(
    {
        "approve_with_id",  # "The payment should be attempted again."
        "issuer_not_available",  # "The payment should be attempted again."
        "processing_error",  # "The payment should be attempted again ... try again later."
        "reenter_transaction",  # "The payment should be attempted again."
        "try_again_later",  # "Ask the customer to attempt the payment again."
    }
)


def is_soft_decline(code: str | None, decline_code: str | None) -> bool:
    """True when a decline with these codes may succeed on a later attempt."""
    return code in SOFT_DECLINE_CODES or decline_code in SOFT_DECLINE_CODES
