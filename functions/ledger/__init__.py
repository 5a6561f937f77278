"""The charges ledger: one item per charge request, its state and every transition.

Shared by the functions that write it (the idempotency stream's consumer ``outbox``, the
Stripe webhook endpoint ``webhooks``, the charge function when it dead-letters), the one
that publishes its state changes (``outcome_events``) and the CLI that reads it. It holds
no client: callers pass theirs in.
"""
