"""Print the published JSON Schemas: ``python -m chargeq.schema [request|outcome]``."""

from __future__ import annotations

import json
import sys
from typing import Any

from charges.contract import json_schema as request_schema
from ledger.events import json_schema as outcome_schema

#: Each published schema, by name, and the file under ``schema/`` that holds it.
SCHEMAS = {
    "request": ("charge-request.v1.json", request_schema),
    "outcome": ("charge-outcome.v1.json", outcome_schema),
}


def render(name: str = "request") -> str:
    """The schema as written to its file under ``schema/``."""
    document: dict[str, Any] = SCHEMAS[name][1]()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(sys.argv[1] if len(sys.argv) > 1 else "request"), end="")
