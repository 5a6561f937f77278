"""The idempotency table's stream consumer: each stored charge result becomes a ledger fact.

The idempotency table is the charge path's transactional outbox: a result is written to
the ledger if and only if the charge function stored it, and the charge path itself makes
no extra write.
"""
