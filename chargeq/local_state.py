"""The running ``chargeq local`` stack, as ``--local`` finds it.

``chargeq local`` writes a small JSON file (``local.json`` in the project's state directory,
see ``chargeq.project``) once everything is up, and removes it when it stops; ``--local``
reads it, so ``send``, ``status`` and ``dlq`` need no endpoint, credentials or region.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chargeq.project import state_dir

STATE_FILE_NAME = "local.json"

#: moto accepts any credentials; these never leave this machine.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


class LocalStackNotRunning(Exception):
    """No ``chargeq local`` is running; the message says how to start one."""


@dataclass(frozen=True)
class LocalStackState:
    """Where the local stack's endpoints and resources are, and who runs it."""

    pid: int
    aws_endpoint_url: str
    region: str
    stripe_url: str
    stage: str
    queue_url: str
    dlq_url: str
    table_name: str
    max_amount: int
    currencies: tuple[str, ...]
    customer: str
    payment_method: str
    logs: str

    def write(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        partial.replace(path)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> LocalStackState:
        return cls(**{**document, "currencies": tuple(document["currencies"])})


def state_file() -> Path:
    return state_dir() / STATE_FILE_NAME


def read_running(path: Path | None = None) -> LocalStackState:
    """The state of the running local stack.

    Raises ``LocalStackNotRunning`` when there is no state file, or when the process that
    wrote it is gone (killed without the chance to clean up).
    """
    path = path or state_file()
    start = "start one with 'chargeq local' in another terminal"
    try:
        state = LocalStackState.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise LocalStackNotRunning(f"no local stack is running: {start}") from None
    except (ValueError, TypeError, KeyError) as error:
        raise LocalStackNotRunning(
            f"{path} is unreadable ({type(error).__name__}): delete it and {start}"
        ) from None
    if not _alive(state.pid):
        raise LocalStackNotRunning(
            f"no local stack is running (the one that wrote {path}, process {state.pid}, "
            f"has stopped): {start}"
        )
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True
