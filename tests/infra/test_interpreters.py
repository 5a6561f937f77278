"""Finding the runtime's Python to compile the bundle: every candidate is run, not trusted.

The stand-ins are shell scripts on a private search path: a pyenv shim that exits 127 as
pyenv's do when their version is not selected, a ``pyenv`` that answers ``prefix``, a ``uv``
that answers ``python find`` and ``python install``, and interpreters that print a version.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infra.interpreters import find_python

#: A version no machine has, so only the stand-ins can answer for it.
VERSION = "3.99"


def script(path: Path, body: str) -> Path:
    """An executable shell script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def interpreter(path: Path, version: str = VERSION) -> Path:
    """A stand-in interpreter that answers the version check with ``version``."""
    return script(path, f'echo "{version}"\n')


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    return directory


def test_a_pyenv_shim_that_fails_is_not_taken_for_the_interpreter(bin_dir: Path) -> None:
    # GIVEN python3.99 on the search path is a shim for a version pyenv has not selected
    script(
        bin_dir / f"python{VERSION}", "echo 'pyenv: python3.99: command not found' >&2\nexit 127\n"
    )
    # WHEN an interpreter of that version is looked for THEN none is found
    assert find_python(VERSION, search_path=str(bin_dir), download=False) is None


def test_an_interpreter_of_another_version_is_not_taken(bin_dir: Path) -> None:
    interpreter(bin_dir / f"python{VERSION}", version="3.98")
    assert find_python(VERSION, search_path=str(bin_dir), download=False) is None


def test_a_working_interpreter_on_the_path_is_found(bin_dir: Path) -> None:
    found = interpreter(bin_dir / f"python{VERSION}")
    assert find_python(VERSION, search_path=str(bin_dir), download=False) == str(found)


def test_an_installed_but_unselected_pyenv_version_is_found(bin_dir: Path, tmp_path: Path) -> None:
    # GIVEN a failing shim on the path, and pyenv knowing where that version is installed
    script(bin_dir / f"python{VERSION}", "exit 127\n")
    prefix = tmp_path / "pyenv" / "versions" / "3.99.1"
    installed = interpreter(prefix / "bin" / f"python{VERSION}")
    script(bin_dir / "pyenv", f'[ "$1 $2" = "prefix {VERSION}" ] && echo "{prefix}" || exit 1\n')
    # WHEN looked for THEN pyenv's installed interpreter is the one
    assert find_python(VERSION, search_path=str(bin_dir), download=False) == str(installed)


def uv(bin_dir: Path, managed: Path) -> Path:
    """A stand-in uv: ``python find`` answers once ``python install`` has run."""
    marker = bin_dir.parent / "installed"
    return script(
        bin_dir / "uv",
        f"""case "$1 $2 $3" in
  "python find {VERSION}") [ -e "{marker}" ] && echo "{managed}" || exit 2 ;;
  "python install {VERSION}") touch "{marker}" ;;
  *) exit 2 ;;
esac
""",
    )


def test_uv_installs_the_version_when_nothing_else_has_it(bin_dir: Path, tmp_path: Path) -> None:
    managed = interpreter(tmp_path / "uv-python" / "bin" / f"python{VERSION}")
    uv(bin_dir, managed)
    assert find_python(VERSION, search_path=str(bin_dir), download=True) == str(managed)


def test_no_download_when_the_environment_forbids_it(
    bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN uv's own switch against downloads
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    managed = interpreter(tmp_path / "uv-python" / "bin" / f"python{VERSION}")
    uv(bin_dir, managed)
    # WHEN looked for THEN nothing was installed, and nothing found
    assert find_python(VERSION, search_path=str(bin_dir)) is None
    assert not (tmp_path / "installed").exists()
