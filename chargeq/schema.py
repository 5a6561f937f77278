"""Print the charge request contract as JSON Schema: ``python -m chargeq.schema``."""

from __future__ import annotations

import json

from charges.contract import json_schema


def render() -> str:
    """The schema as written to ``schema/charge-request.v1.json``."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
