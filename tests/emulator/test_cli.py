"""``python -m stripe_emulator``: starts, prints its URL as one JSON line, stops on signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from stripe_emulator import EmulatorControl
from stripe_emulator.fixtures import create_customer
from tests.emulator.scenarios import create

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def process() -> Iterator[subprocess.Popen[str]]:
    command = [
        sys.executable,
        "-m",
        "stripe_emulator",
        "--port",
        "0",
        "--api-key",
        "sk_test_cli",
        "--latency-ms",
        "1",
        "--jitter-ms",
        "0.5",
        "--seed",
        "3",
    ]
    child = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield child
    if child.poll() is None:
        child.kill()
        child.wait()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_module_prints_its_url_serves_and_stops_on_signal(
    process: subprocess.Popen[str], stop_signal: signal.Signals
):
    # GIVEN the emulator started as its own process
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    url = ready["url"]
    assert url.startswith("http://127.0.0.1:")
    # WHEN the SDK charges through it and the control client reads its ledger
    client = stripe.StripeClient("sk_test_cli", base_addresses={"api": url})
    customer = create_customer(url, "sk_test_cli")
    create(client, "order-1", customer=customer.id, payment_method=customer.payment_method)
    assert EmulatorControl(url).ledger()["by_request_id"]["order-1"]["succeeded"] == 1
    # THEN a signal stops it cleanly
    process.send_signal(stop_signal)
    assert process.wait(timeout=10) == 0
    assert process.stdout.read() == ""  # the URL line was the only output
