"""Where the project's files are, found the same way wherever a command runs from.

``cdk.json`` holds the pipeline's settings (resource names, limits); the state directory
holds what ``chargeq local`` leaves for ``--local`` to find. Both belong to the checkout,
not to the working directory, so ``chargeq status --local r1`` run from ``/tmp`` talks to
the same stack and reads the same settings as from the checkout's root.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Overrides where ``chargeq local`` writes its state file (tests run stacks side by side).
STATE_DIR_ENV = "CHARGEQ_STATE_DIR"

#: The state directory's name inside a checkout (git-ignored).
STATE_DIR_NAME = ".chargeq"


def project_root() -> Path | None:
    """The checkout holding ``cdk.json``.

    First the checkout this ``chargeq`` package was installed from (``make install``
    installs it editable), then the working directory and its parents; None when neither
    has a ``cdk.json`` (an installed wheel used outside a checkout).
    """
    package_checkout = Path(__file__).resolve().parents[1]
    if (package_checkout / "cdk.json").is_file():
        return package_checkout
    for directory in (Path.cwd(), *Path.cwd().parents):
        if (directory / "cdk.json").is_file():
            return directory
    return None


def cdk_json_path() -> Path | None:
    """The project's ``cdk.json``, or None when there is no checkout (defaults apply)."""
    root = project_root()
    return root / "cdk.json" if root else None


def state_dir() -> Path:
    """Where ``chargeq local`` keeps its state file and logs.

    ``$CHARGEQ_STATE_DIR`` if set, else ``.chargeq/`` in the checkout, else the user's cache
    directory (``$XDG_CACHE_HOME/chargeq`` or ``~/.cache/chargeq``).
    """
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    root = project_root()
    if root:
        return root / STATE_DIR_NAME
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "chargeq"
