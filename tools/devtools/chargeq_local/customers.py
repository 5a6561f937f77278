"""The customers of a local run, made through the Stripe API as a test-mode fixture would
make them (``stripe_emulator.fixtures.create_customer``), never invented IDs.

A pool mixes what a real account holds: customers saved with a PaymentMethod only (their
``invoice_settings.default_payment_method``, which the pipeline charges when a request
names no payment method), legacy customers with a card ``source`` (charged
without ``payment_method`` through ``default_source``), and saved cards that decline:
``pm_card_chargeCustomerFail`` and the 3D Secure ``pm_card_authenticationRequired``
(docs.stripe.com/testing), and customers whose invoice default is a US bank account
(``pm_usBankAccount_success``, docs.stripe.com/testing "Bank debits"): their PaymentIntents
wait in ``processing`` and settle later on the emulator's clock.

The pool grows with the workload it serves (``requests``): a look-up after a takeover lists
the customer's PaymentIntents, one request per 100 of them
(``charges.payments.StripeGateway.find_existing``), so a customer holding a thousand
PaymentIntents makes every look-up ten requests of Stripe's rate limit; about
``REQUESTS_PER_CUSTOMER`` requests a customer keeps most look-ups to one page, for three
requests per customer made.
"""

from __future__ import annotations

from dataclasses import dataclass

from stripe_emulator.fixtures import TestCustomer, create_customer


@dataclass(frozen=True)
class CustomerPool:
    """Customers to charge, by what is saved on them."""

    #: A card PaymentMethod attached as the invoice default; no default source.
    saved: tuple[TestCustomer, ...]
    #: A legacy card as ``default_source``; no PaymentMethod.
    legacy: tuple[TestCustomer, ...]
    #: ``pm_card_chargeCustomerFail`` attached: every charge is declined.
    declining: TestCustomer
    #: ``pm_card_authenticationRequired`` attached: off-session charges need authentication.
    authentication: TestCustomer
    #: ``pm_usBankAccount_success`` attached as the invoice default: charges are ``pending``.
    bank_debit: tuple[TestCustomer, ...] = ()


#: Requests of the workload per customer of each kind, about (``create_pool``).
REQUESTS_PER_CUSTOMER = 50

#: Share of a workload's requests charged to legacy and to bank-debit customers, about
#: (``chargeq_local.workload``: 5% each); saved customers take nearly all the rest.
MINOR_KIND_SHARE = 0.05

#: Stripe's test US bank account that settles successfully (docs.stripe.com/testing).
BANK_DEBIT_TEST_ACCOUNT = "pm_usBankAccount_success"


def create_pool(
    stripe_url: str,
    api_key: str,
    *,
    requests: int = 0,
    saved: int = 12,
    legacy: int = 6,
    bank_debit: int = 4,
) -> CustomerPool:
    """Create the pool's customers through the Stripe API at ``stripe_url``.

    ``saved``, ``legacy`` and ``bank_debit`` are the least of each kind; for a workload of
    ``requests`` requests there are more, a customer per ``REQUESTS_PER_CUSTOMER`` requests
    of its kind. Three requests to Stripe per customer saved with a PaymentMethod, one per
    legacy customer; the fixture backs off on 429s (a sandbox allows 25 requests/s).
    """
    per_minor_kind = int(requests * MINOR_KIND_SHARE) // REQUESTS_PER_CUSTOMER
    saved = max(saved, requests // REQUESTS_PER_CUSTOMER)
    legacy = max(legacy, per_minor_kind)
    bank_debit = max(bank_debit, per_minor_kind)
    return CustomerPool(
        saved=tuple(create_customer(stripe_url, api_key) for _ in range(saved)),
        legacy=tuple(
            create_customer(stripe_url, api_key, payment_method=None, source="tok_visa")
            for _ in range(legacy)
        ),
        declining=create_customer(stripe_url, api_key, payment_method="pm_card_chargeCustomerFail"),
        authentication=create_customer(
            stripe_url, api_key, payment_method="pm_card_authenticationRequired"
        ),
        bank_debit=tuple(
            create_customer(stripe_url, api_key, payment_method=BANK_DEBIT_TEST_ACCOUNT)
            for _ in range(bank_debit)
        ),
    )
