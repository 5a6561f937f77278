"""Worker processes that run the real handler, one invocation at a time, like Lambda containers.

A worker is a fresh interpreter (``python -m chargeq_local.workers``) started with the
function's environment, as Lambda starts a container: it imports ``charges.handler`` once
and serves invocations until stopped, so the handler's cold start and per-container caches
behave as in Lambda. It is a plain child process, not one of multiprocessing's ``spawn``
children, which first re-import the parent's main module (the ``chargeq`` command, say):
the function's modules would be imported before its environment is set (Powertools'
``Metrics()`` then has no namespace and every invocation fails), and every cold start would
pay for the parent's imports.

Invocations go over two pipes as pickled ``(event, timeout)`` and ``(status, payload)``
messages (``multiprocessing.connection.Connection``). When an invocation runs past the
function timeout the worker is killed, as Lambda would; when a worker dies, the invocation
fails and a new worker takes its place. Either way the poller carries on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


class InvocationFailed(RuntimeError):
    """The invocation raised, timed out or lost its worker; the whole batch failed."""


#: The handler a worker runs unless told otherwise.
DEFAULT_HANDLER = "charges.handler:lambda_handler"

#: ``module:function`` called in each worker before the handler is imported: the seam
#: through which a fault plan (``chargeq_soak.faults``) installs its hooks.
WORKER_SETUP_ENV = "CHARGEQ_LOCAL_WORKER_SETUP"

#: Seconds a fresh worker gets on top of the function timeout for its first import.
COLD_START_ALLOWANCE_SECONDS = 15


def _resolve(name: str) -> Any:
    """``"package.module:attribute"`` as the object it names."""
    import importlib

    module_name, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class _Pipes:
    """Two one-way ``Connection``s (one read, one written) used as one duplex channel."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read = Connection(read_fd, writable=False)
        self._write = Connection(write_fd, readable=False)

    def send(self, message: Any) -> None:
        self._write.send(message)

    def recv(self) -> Any:
        return self._read.recv()

    def poll(self, timeout: float) -> bool:
        return self._read.poll(timeout)

    def close(self) -> None:
        self._write.close()
        self._read.close()


def _serve(channel: _Pipes, handler: str) -> None:
    """The worker's main loop (runs in the child process, its environment already set)."""
    # Ctrl-C in the terminal reaches every process in its group; the parent stops its
    # workers itself, in order, so a worker does not die under an invocation.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from chargeq_local.context import LocalLambdaContext

    # Fault injection plugs in here (the soak names its hook); the runtime knows no faults.
    setup = os.environ.get(WORKER_SETUP_ENV)
    if setup:
        _resolve(setup)()
    lambda_handler = _resolve(handler)

    while True:
        try:
            message = channel.recv()
        except EOFError:
            return
        if message is None:
            return
        event, timeout_seconds = message
        context = LocalLambdaContext(timeout_seconds=timeout_seconds)
        try:
            channel.send(("ok", lambda_handler(event, context)))
        except Exception as error:  # an invocation error, as Lambda reports one
            channel.send(("error", f"{type(error).__name__}: {error}"))


class Worker:
    """One warm container: a child process and the pipes to it."""

    def __init__(
        self,
        environment: dict[str, str],
        log_path: Path,
        timeout_seconds: float,
        handler: str = DEFAULT_HANDLER,
        *,
        standby: bool = False,
    ) -> None:
        self._handler = handler
        self._standby = standby
        self._spare: tuple[subprocess.Popen[bytes], _Pipes] | None = None
        self._environment = environment
        self._log_path = log_path
        self._timeout = timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: _Pipes | None = None
        self.starts = 0
        self._warm = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the worker's process (the spare's, if one is waiting)."""
        if self._spare is not None and self._spare[0].poll() is None:
            self._process, self._channel = self._spare
        else:
            self._process, self._channel = self._launch()
        self._spare = self._launch() if self._standby else None
        self.starts += 1

    def _launch(self) -> tuple[subprocess.Popen[bytes], _Pipes]:
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        command = [sys.executable, "-m", __name__, str(to_child_read), str(from_child_write)]
        # The handler logs JSON and metrics to stdout, as in Lambda; keep them in a file.
        with open(self._log_path, "ab") as log:
            process = subprocess.Popen(
                [*command, self._handler],
                env=os.environ | self._environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(to_child_read, from_child_write),
            )
        os.close(to_child_read)
        os.close(from_child_write)
        return process, _Pipes(from_child_read, to_child_write)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler on ``event``; raise ``InvocationFailed`` if it did not answer."""
        if self._process is None or self._process.poll() is not None:
            self.restart()
        assert self._channel is not None
        try:
            self._channel.send((event, self._timeout))
            # Allow for the first import in a fresh worker on top of the function timeout.
            allowance = self._timeout + (0 if self._warm else COLD_START_ALLOWANCE_SECONDS)
            if not self._channel.poll(allowance):
                self.kill()  # as Lambda ends a timed-out invocation: at once
                self.restart()
                raise InvocationFailed(f"timed out after {self._timeout:.1f}s")
            status, payload = self._channel.recv()
        except (EOFError, OSError) as error:
            self.restart()
            raise InvocationFailed(f"worker died: {type(error).__name__}") from error
        self._warm = True
        if status != "ok":
            raise InvocationFailed(payload)
        return dict(payload)

    def kill(self) -> None:
        """SIGKILL the worker mid-flight (fault injection)."""
        if self._process and self._process.poll() is None:
            self._process.kill()

    def stop(self) -> None:
        """Stop the worker's process and its spare."""
        self._stop_current()
        if self._spare is not None:
            self._process, self._channel = self._spare
            self._spare = None
            self._stop_current()

    def restart(self) -> None:
        """Replace the worker's process (with its spare, if one is waiting)."""
        self._stop_current()
        self._warm = False
        self.start()

    def _stop_current(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.send(None)
            self._channel.close()
            self._channel = None
        if self._process is not None:
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


if __name__ == "__main__":
    _serve(_Pipes(int(sys.argv[1]), int(sys.argv[2])), sys.argv[3])
