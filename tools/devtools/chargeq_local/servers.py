"""Start the local stand-ins for AWS and Stripe as child processes on 127.0.0.1.

Each runs in its own process (its own core and GIL), listens on a free port, and is
stopped with the context manager, however the run ends.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO


class ServerFailed(RuntimeError):
    """A local server did not start; the message includes what it printed."""


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> None:
    """In the child, before exec: be sent SIGTERM when the parent dies, however it dies
    (``kill -9`` of a run leaves no server behind holding a port). Linux only; elsewhere
    the context manager's stop is all there is. The signal follows the parent *thread*
    that started the child: servers are started from the run's main thread."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class _ChildServer(AbstractContextManager["_ChildServer"]):
    def __init__(self, log_path: Path) -> None:
        self.url = ""
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _spawn(
        self,
        command: list[str],
        stdout: int | IO[bytes],
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        self._log = self._log_path.open("ab")
        # Its own process group: Ctrl-C in the terminal reaches the parent only, which
        # stops the servers after the workers that still talk to them.
        # preexec_fn runs in the forked child before exec: only a prctl call, which takes
        # no lock another thread could hold.
        parent = os.getpid()
        self._process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=self._log,
            process_group=0,
            preexec_fn=lambda: _stop_with_parent(parent),
            env=env,
        )
        return self._process

    def _read_url(
        self, command: list[str], what: str, timeout: float, env: Mapping[str, str] | None = None
    ) -> str:
        """Start ``command`` and read the ``{"url": ...}`` line it prints once listening."""
        process = self._spawn(command, subprocess.PIPE, env)
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line:
            if process.poll() is not None:
                raise self._fail(f"{what} exited")
            line = process.stdout.readline()
        if not line:
            raise self._fail(f"{what} did not start within {timeout:.0f}s")
        return str(json.loads(line)["url"])

    def _fail(self, what: str) -> ServerFailed:
        self.stop()
        tail = self._log_path.read_text(errors="replace")[-2000:]
        return ServerFailed(f"{what}; its log ({self._log_path}) ends with:\n{tail}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log:
            self._log.close()
            self._log = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class MotoServer(_ChildServer):
    """moto's HTTP server: SQS, DynamoDB (and its streams), Secrets Manager, EventBridge and
    CloudWatch Logs for the local pipeline, with SQS's hot spots made cheap (``moto_server``)."""

    def start(self, timeout: float = 30.0) -> MotoServer:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "chargeq_local.moto_server",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ]
        self._spawn(command, subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process and self._process.poll() is not None:
                raise self._fail("moto server exited")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):  # noqa: S310
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise self._fail(f"moto server did not answer within {timeout:.0f}s")

    def __enter__(self) -> MotoServer:
        return self.start()


class EmulatorServer(_ChildServer):
    """The project's Stripe emulator (``python -m stripe_emulator``), with Stripe's rate
    limits on (``rate_limits``: ``sandbox``, the default, ``live`` or ``off``)."""

    def __init__(
        self,
        log_path: Path,
        *,
        api_key: str,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        seed: int = 0,
        rate_limits: str = "sandbox",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        super().__init__(log_path)
        self._args = [
            "--api-key",
            api_key,
            "--latency-ms",
            str(latency_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--seed",
            str(seed),
            "--rate-limits",
            rate_limits,
        ]
        if webhook_url:
            # Signed with this secret (the command line of a local child, never logged).
            self._args += ["--webhook-url", webhook_url]
            if webhook_secret:
                self._args += ["--webhook-secret", webhook_secret]

    def start(self, timeout: float = 30.0) -> EmulatorServer:
        command = [sys.executable, "-m", "stripe_emulator", "--port", "0", *self._args]
        self.url = self._read_url(command, "Stripe emulator", timeout)
        return self

    def __enter__(self) -> EmulatorServer:
        return self.start()


class WebhookEndpointServer(_ChildServer):
    """The webhook function behind a function URL (``chargeq_local.webhook_endpoint``),
    started with the function's ``environment``."""

    def __init__(self, log_path: Path, environment: dict[str, str]) -> None:
        super().__init__(log_path)
        self._environment = environment

    def start(self, timeout: float = 30.0) -> WebhookEndpointServer:
        command = [sys.executable, "-m", "chargeq_local.webhook_endpoint"]
        self.url = self._read_url(
            command, "webhook endpoint", timeout, env=os.environ | self._environment
        )
        return self

    def __enter__(self) -> WebhookEndpointServer:
        return self.start()
