"""The local servers die with the run that started them, however it ends: a run stopped
with ``kill -9`` (an IDE's stop button, a CI timeout) must not leave moto and the Stripe
emulator holding ports (review finding: servers run in process groups of their own, so
only a clean exit stopped them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.test_local import alive

RUN = """
import sys, time
from pathlib import Path
from chargeq_local.servers import EmulatorServer, MotoServer
logs = Path(sys.argv[1])
moto = MotoServer(logs / "moto.log").start()
emulator = EmulatorServer(logs / "stripe.log", api_key="sk_test_x").start()
print(moto._process.pid, emulator._process.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG)")
def test_servers_stop_when_their_run_is_killed(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    servers = {int(pid) for pid in run.stdout.readline().split()}
    assert len(servers) == 2 and alive(servers) == servers
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while alive(servers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(servers) == set()
