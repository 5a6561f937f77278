"""What a cold container imports: guards on the modules that made cold starts slow.

Timing is the benchmark's job (``chargeq bench``, tested in ``tests/e2e/test_bench.py``);
this checks which modules an import of the handler loads, which does not flake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

#: Modules a cold start must not load, and what each would cost.
NOT_AT_IMPORT = {
    # The X-Ray SDK builds a botocore client when imported (about 150 ms); Lambda's
    # active tracing needs no SDK in the function.
    "aws_xray_sdk",
    # Powertools' parser loads every event model it ships (about 60 ms); the contract is
    # validated with pydantic directly.
    "aws_lambda_powertools.utilities.parser.models",
}


def imported_by_the_handler() -> set[str]:
    """The modules loaded by importing the handler in a fresh interpreter."""
    script = "import json, sys\nimport charges.handler\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ | {"PYTHONPATH": str(FUNCTIONS_DIR)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(json.loads(output))


def test_the_handler_import_loads_neither_xray_nor_the_parser_models():
    # GIVEN a fresh interpreter, as in a cold container
    # WHEN it imports the handler
    modules = imported_by_the_handler()
    # THEN the handler and its libraries are loaded, and none of the slow extras
    assert {"charges.handler", "aws_lambda_powertools.utilities.batch", "pydantic"} <= modules
    assert not {name for name in modules if name.split(".")[0] == "aws_xray_sdk"}
    assert not NOT_AT_IMPORT & modules
