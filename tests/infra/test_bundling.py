"""The local bundler: what `cdk synth` uploads as the function's code, built without Docker."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from aws_cdk import DockerImage
from aws_cdk import aws_lambda as lambda_

from infra.bundling import LocalPipBundler, NoBytecodeWarning
from infra.constructs.pipeline_function import ARCHITECTURE, RUNTIME
from infra.interpreters import find_python

#: The flags word of a .pyc compiled with --invalidation-mode unchecked-hash (PEP 552).
UNCHECKED_HASH = 0b01


def build(output: Path, runtime: lambda_.Runtime) -> list[warnings.WarningMessage]:
    """Bundle for ``runtime`` (pip downloads the pinned wheels, ~15 s with a warm cache)."""
    bundler = LocalPipBundler(runtime=runtime, architecture=ARCHITECTURE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert bundler.try_bundle(str(output), image=DockerImage.from_registry("unused"))
    return list(caught)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bundle")
    caught = build(output, RUNTIME)
    without_bytecode = [item for item in caught if item.category is NoBytecodeWarning]
    # Bytecode only when the runtime's Python can be had; a warning says so otherwise.
    assert bool(without_bytecode) == (find_python(RUNTIME.name.removeprefix("python")) is None)
    return output


def pyc_flags(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[4:8], "little")


def test_bundle_has_the_function_package_and_its_requirements(bundle: Path) -> None:
    assert (bundle / "charges" / "handler.py").is_file()
    for package in ("stripe", "pydantic", "aws_lambda_powertools"):
        assert (bundle / package / "__init__.py").is_file(), package


def test_bundle_carries_no_xray_sdk(bundle: Path) -> None:
    # Lambda's active tracing needs no SDK in the function; the X-Ray SDK would add about
    # 150 ms to every cold start (it builds a botocore client when imported).
    assert not (bundle / "aws_xray_sdk").exists()


def test_compiled_wheels_are_built_for_the_lambda_runtime_and_architecture(bundle: Path) -> None:
    (extension,) = (bundle / "pydantic_core").glob("_pydantic_core.*.so")
    assert extension.name.endswith(".cpython-313-aarch64-linux-gnu.so")


def test_bundle_leaves_boto3_and_botocore_to_the_runtime(bundle: Path) -> None:
    for package in ("boto3", "botocore", "s3transfer"):
        assert not (bundle / package).exists(), package


def test_bundle_for_a_python_this_machine_has_ships_unchecked_bytecode(tmp_path: Path) -> None:
    # GIVEN a runtime of the running interpreter's version (so its bytecode can be written)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    runtime = lambda_.Runtime(f"python{version}", lambda_.RuntimeFamily.PYTHON)
    # WHEN the function is bundled for it
    caught = build(tmp_path, runtime)
    # THEN the package and its libraries carry bytecode that Lambda loads without checking
    # the sources' timestamps (the zip does not keep them)
    assert not [item for item in caught if item.category is NoBytecodeWarning]
    tag = sys.implementation.cache_tag
    for compiled in (
        tmp_path / "charges" / "__pycache__" / f"handler.{tag}.pyc",
        tmp_path / "stripe" / "__pycache__" / f"__init__.{tag}.pyc",
        tmp_path / "pydantic" / "__pycache__" / f"main.{tag}.pyc",
    ):
        assert pyc_flags(compiled) == UNCHECKED_HASH, compiled


def test_without_the_runtimes_python_the_bundle_ships_source_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a machine with no interpreter of the runtime's version
    monkeypatch.setattr("infra.bundling.find_python", lambda _version: None)
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    bundler = LocalPipBundler(runtime=RUNTIME, architecture=ARCHITECTURE)
    # WHEN the bundle is compiled
    with pytest.warns(NoBytecodeWarning, match=r"python3\.13"):
        compiled = bundler.compile(tmp_path)
    # THEN nothing was written, and the warning told the person running synth
    assert compiled is False
    assert not list(tmp_path.rglob("*.pyc"))


def test_the_bundle_for_the_runtime_carries_its_bytecode(bundle: Path) -> None:
    # GIVEN this machine (its pyenv has the runtime's Python, or uv can install it)
    version = RUNTIME.name.removeprefix("python")
    interpreter = find_python(version)
    if interpreter is None:
        pytest.skip(f"no Python {version} to be had here")
    # WHEN the function was bundled for the runtime THEN the runtime's bytecode is in it
    tag = "cpython-" + version.replace(".", "")
    for compiled in (
        bundle / "charges" / "__pycache__" / f"handler.{tag}.pyc",
        bundle / "pydantic" / "__pycache__" / f"main.{tag}.pyc",
    ):
        assert pyc_flags(compiled) == UNCHECKED_HASH, compiled
