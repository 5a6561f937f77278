"""Find a working interpreter of one Python version on this machine, to compile the bundle.

Bytecode only loads with the minor version that wrote it, so the bundle for Lambda's
``python3.13`` must be compiled by a 3.13 here. A name on the ``PATH`` is not proof: pyenv
puts a ``python3.13`` shim there for every installed version, and the shim exits 127 unless
that version is selected. So every candidate is *run* and must print the version asked for.

Where the candidates come from, in order:

1. the interpreter running synth, when it is that version;
2. ``python3.X`` on the ``PATH``;
3. ``pyenv prefix 3.X`` (an installed but unselected pyenv version);
4. ``uv python find 3.X`` (a Python uv installed, or one it finds);
5. with nothing found, ``uv python install 3.X`` (a download of about 30 MB, cached by uv
   for later runs), unless ``UV_PYTHON_DOWNLOADS=never``; then ``uv python find`` again.

uv is pinned in requirements-dev.txt, so ``make synth`` and ``make deploy`` always have it
beside the venv's interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

#: Prints the running interpreter's "major.minor".
VERSION_CHECK = "import sys; print('%d.%d' % sys.version_info[:2])"

#: Seconds for a look-up (running a candidate, pyenv, uv find) and for a download.
LOOKUP_TIMEOUT = 30
INSTALL_TIMEOUT = 600


def find_python(
    version: str, *, search_path: str | None = None, download: bool | None = None
) -> str | None:
    """The path of a working ``python{version}`` ("3.13"), or None if none can be had.

    ``search_path`` is where to look for ``python3.X``, ``pyenv`` and ``uv`` (default: the
    ``PATH``, then the folder of the interpreter running this). ``download`` lets uv
    install the version when nothing else has it (default: unless the environment says
    ``UV_PYTHON_DOWNLOADS=never``, uv's own switch).
    """
    if search_path is None:
        search_path = os.pathsep.join(
            [os.environ.get("PATH", ""), str(Path(sys.executable).parent)]
        )
    for candidate in _candidates(version, search_path):
        if runs_as(candidate, version):
            return candidate
    if download is None:
        download = os.environ.get("UV_PYTHON_DOWNLOADS") != "never"
    uv = shutil.which("uv", path=search_path)
    if not (download and uv):
        return None
    print(
        f"no Python {version} here: installing it with uv to compile the function's bundle",
        file=sys.stderr,
    )
    if _output([uv, "python", "install", version], timeout=INSTALL_TIMEOUT) is None:
        return None
    found = _first_line(_output([uv, "python", "find", version]))
    return found if found and runs_as(found, version) else None


def runs_as(interpreter: str, version: str) -> bool:
    """True when ``interpreter`` starts and is Python ``version`` ("3.13")."""
    return _output([interpreter, "-c", VERSION_CHECK]) == version


def _candidates(version: str, search_path: str) -> Iterator[str]:
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        yield sys.executable
    if on_path := shutil.which(f"python{version}", path=search_path):
        yield on_path
    pyenv = shutil.which("pyenv", path=search_path)
    if pyenv and (prefix := _first_line(_output([pyenv, "prefix", version]))):
        yield str(Path(prefix) / "bin" / f"python{version}")
    uv = shutil.which("uv", path=search_path)
    if uv and (found := _first_line(_output([uv, "python", "find", version]))):
        yield found


def _output(command: list[str], *, timeout: float = LOOKUP_TIMEOUT) -> str | None:
    """The command's stripped standard output, or None if it failed to run or exited non-zero."""
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0] if text else None
