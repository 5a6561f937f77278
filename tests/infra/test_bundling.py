"""The local bundler: what `cdk synth` uploads as the function's code, built without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import DockerImage

from infra.bundling import LocalPipBundler
from infra.constructs.charge_function import ARCHITECTURE, RUNTIME


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pip downloads the pinned wheels for Lambda (about 15 s with a warm cache).
    output = tmp_path_factory.mktemp("bundle")
    bundler = LocalPipBundler(runtime=RUNTIME, architecture=ARCHITECTURE)
    assert bundler.try_bundle(str(output), image=DockerImage.from_registry("unused"))
    return output


def test_bundle_has_the_function_package_and_its_requirements(bundle: Path) -> None:
    assert (bundle / "charges" / "handler.py").is_file()
    assert not list((bundle / "charges").rglob("__pycache__"))
    for package in ("stripe", "pydantic", "aws_lambda_powertools"):
        assert (bundle / package / "__init__.py").is_file(), package


def test_bundle_carries_no_xray_sdk(bundle: Path) -> None:
    # Lambda's active tracing needs no SDK in the function; the X-Ray SDK would add about
    # 150 ms to every cold start (it builds a botocore client when imported).
    assert not (bundle / "aws_xray_sdk").exists()


def test_compiled_wheels_are_built_for_the_lambda_runtime_and_architecture(bundle: Path) -> None:
    (extension,) = (bundle / "pydantic_core").glob("_pydantic_core.*.so")
    assert extension.name.endswith(".cpython-314-aarch64-linux-gnu.so")


def test_bundle_leaves_boto3_and_botocore_to_the_runtime(bundle: Path) -> None:
    for package in ("boto3", "botocore", "s3transfer"):
        assert not (bundle / package).exists(), package
