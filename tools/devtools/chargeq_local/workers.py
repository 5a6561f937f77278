"""Worker processes that run the real handler, one invocation at a time, like Lambda containers.

A worker is a fresh interpreter (``spawn``) with the function's environment; it imports
``charges.handler`` once and serves invocations until stopped, so the handler's cold start
and per-container caches behave as in Lambda. When an invocation runs past the function
timeout the worker is killed, as Lambda would; when a worker dies, the invocation fails
and a new worker takes its place. Either way the poller carries on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

_CONTEXT = multiprocessing.get_context("spawn")


class InvocationFailed(RuntimeError):
    """The invocation raised, timed out or lost its worker; the whole batch failed."""


#: The handler a worker runs unless told otherwise.
DEFAULT_HANDLER = "charges.handler:lambda_handler"

#: ``module:function`` called in each worker before the handler is imported: the seam
#: through which a fault plan (``chargeq_soak.faults``) installs its hooks.
WORKER_SETUP_ENV = "CHARGEQ_LOCAL_WORKER_SETUP"


def _resolve(name: str) -> Any:
    """``"package.module:attribute"`` as the object it names."""
    import importlib

    module_name, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _serve(
    connection: Connection, environment: dict[str, str], log_path: str, handler: str
) -> None:
    """The worker's main loop (runs in the child process)."""
    # Ctrl-C in the terminal reaches every process in its group; the parent stops its
    # workers itself, in order, so a worker does not die under an invocation.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(environment)
    # The handler logs JSON and metrics to stdout, as in Lambda; keep them in a file.
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = log
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    from chargeq_local.context import LocalLambdaContext

    # Fault injection plugs in here (the soak names its hook); the runtime knows no faults.
    setup = environment.get(WORKER_SETUP_ENV)
    if setup:
        _resolve(setup)()
    lambda_handler = _resolve(handler)

    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        event, timeout_seconds = message
        context = LocalLambdaContext(timeout_seconds=timeout_seconds)
        try:
            connection.send(("ok", lambda_handler(event, context)))
        except Exception as error:  # an invocation error, as Lambda reports one
            connection.send(("error", f"{type(error).__name__}: {error}"))


class Worker:
    """One warm container: a child process and the pipe to it."""

    def __init__(
        self,
        environment: dict[str, str],
        log_path: Path,
        timeout_seconds: float,
        handler: str = DEFAULT_HANDLER,
    ) -> None:
        self._handler = handler
        self._environment = environment
        self._log_path = log_path
        self._timeout = timeout_seconds
        self._process: SpawnProcess | None = None
        self._connection: Connection | None = None
        self.starts = 0
        self._warm = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_serve,
            args=(child, self._environment, str(self._log_path), self._handler),
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        self.starts += 1

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler on ``event``; raise ``InvocationFailed`` if it did not answer."""
        if self._process is None or not self._process.is_alive():
            self.restart()
        assert self._connection is not None
        try:
            self._connection.send((event, self._timeout))
            # Allow for the first import in a fresh worker on top of the function timeout.
            allowance = self._timeout + (0 if self._warm else 15)
            if not self._connection.poll(allowance):
                self.restart()
                raise InvocationFailed(f"timed out after {self._timeout:.1f}s")
            status, payload = self._connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self.restart()
            raise InvocationFailed(f"worker died: {type(error).__name__}") from error
        self._warm = True
        if status != "ok":
            raise InvocationFailed(payload)
        return dict(payload)

    def kill(self) -> None:
        """SIGKILL the worker mid-flight (fault injection)."""
        if self._process and self._process.is_alive():
            self._process.kill()

    def restart(self) -> None:
        self.stop()
        self._warm = False
        self.start()

    def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError, BrokenPipeError):
                self._connection.send(None)
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None
