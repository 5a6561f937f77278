"""Local end-to-end fixtures: moto's HTTP server and the Stripe emulator as child processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeq_local.runner import LocalStack, local_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    logs: Path = tmp_path_factory.mktemp("local-stack")
    with local_stack(logs) as running:
        yield running
