"""The container's ledger, for the functions that run in Lambda: built once, on first use.

Apart from ``ledger.store``, which holds no client, so the CLI and the tests pass theirs.
"""

from __future__ import annotations

import functools
import os

from ledger.store import LEDGER_TABLE_ENV, LedgerTable


@functools.cache
def ledger_table() -> LedgerTable:
    """The table ``LEDGER_TABLE_NAME`` names, over the environment's DynamoDB client."""
    import boto3

    return LedgerTable(boto3.client("dynamodb"), os.environ[LEDGER_TABLE_ENV])
