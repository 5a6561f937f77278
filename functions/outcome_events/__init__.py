"""The ledger table's stream consumer: one outcome event per state change, on the bus."""
