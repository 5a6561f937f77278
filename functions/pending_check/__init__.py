"""The pending check: on a schedule, how many requests have been ``pending`` too long.

Off the charge path: it queries the ledger's sparse pending index (``ledger.store``), which
holds only the requests pending now, and publishes the count as a gauge the stack alarms on.
"""
