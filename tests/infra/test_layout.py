"""The layout keeps the product apart from the tools that prove it."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_top_levels(package: Path) -> set[str]:
    """Top-level names of every module the package's files import."""
    names: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_the_stripe_emulator_imports_nothing_from_the_project() -> None:
    # GIVEN the emulator's package WHEN its imports are read THEN only the standard library
    imported = imported_top_levels(ROOT / "tools/stripe-emulator/stripe_emulator")
    assert imported <= set(sys.stdlib_module_names) | {"stripe_emulator"}, imported


def test_the_local_runtime_does_not_import_the_soak_or_the_bench() -> None:
    imported = imported_top_levels(ROOT / "tools/devtools/chargeq_local")
    assert not imported & {"chargeq_soak", "chargeq_bench"}, imported


def test_the_product_does_not_import_the_tools() -> None:
    for package in ("chargeq", "functions/charges", "infra"):
        imported = imported_top_levels(ROOT / package)
        assert not imported & {"chargeq_local", "chargeq_soak", "chargeq_bench", "stripe_emulator"}


@pytest.mark.slow
def test_the_product_wheel_holds_no_development_tools(tmp_path: Path) -> None:
    # GIVEN the project WHEN a wheel is built from it, as a producer would install it
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("chargeq-*.whl")
    packages = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    # THEN it carries the product's packages and none of the tools
    assert {"chargeq", "charges", "infra"} <= packages
    assert not packages & {"chargeq_local", "chargeq_soak", "chargeq_bench", "stripe_emulator"}
