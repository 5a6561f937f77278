"""``Stripe-Version``: the API versions the emulator knows, and Stripe's 400 for any other.

Stripe refuses an API version it does not know with a 400 ``invalid_request_error``,
"Invalid Stripe API version: <value>" (seen from Stripe in stripe-java #682, pay-rails #680,
stripity-stripe #613; no ``code``), so a wrong pin fails every request rather than being
echoed back. A request without the header gets the account's default version.

The list holds the versions stripe-python's CHANGELOG names as pinned by its releases
(github.com/stripe/stripe-python, CHANGELOG.md), plus ``2026-10-28.endive``, the version the
pinned SDK (stripe 16.1.0, ``stripe._api_version._ApiVersion.CURRENT``) sends by default
and ``functions/charges/payments.py`` pins. Versions in between that no release pinned are
refused here although Stripe may know them (stricter). A test keeps both pins in this list.
"""

from __future__ import annotations

from stripe_emulator.responses import invalid_request

#: What the emulator answers in ``Stripe-Version`` when a request names none (the
#: account's default version).
DEFAULT_API_VERSION = "2026-10-28.endive"

KNOWN_API_VERSIONS = frozenset(
    {
        "2023-08-16",
        "2023-10-16",
        "2024-04-10",
        "2024-06-20",
        "2024-09-30.acacia",
        "2024-10-28.acacia",
        "2024-11-20.acacia",
        "2024-12-18.acacia",
        "2025-01-27.acacia",
        "2025-02-24.acacia",
        "2025-03-31.basil",
        "2025-04-30.basil",
        "2025-05-28.basil",
        "2025-06-30.basil",
        "2025-07-30.basil",
        "2025-08-27.basil",
        "2025-09-30.clover",
        "2025-10-29.clover",
        "2025-11-17.clover",
        "2025-12-15.clover",
        "2026-01-28.clover",
        "2026-02-25.clover",
        "2026-03-25.dahlia",
        "2026-04-22.dahlia",
        "2026-05-27.dahlia",
        "2026-06-24.dahlia",
        DEFAULT_API_VERSION,
    }
)


def negotiate(header: str | None) -> str:
    """The version a request is answered in; 400 for a version Stripe would not know."""
    if header is None or header == "":
        return DEFAULT_API_VERSION
    if header not in KNOWN_API_VERSIONS:
        raise invalid_request(f"Invalid Stripe API version: {header}")
    return header
