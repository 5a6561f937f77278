"""Bundle the charge function without Docker: ``pip install`` for the Lambda platform, locally.

CDK's local bundling runs :class:`LocalPipBundler` on this machine instead of a container.
pip fetches manylinux wheels for the function's architecture and Python version (never an
sdist, so nothing is compiled for the wrong platform), then the ``charges`` package is
copied beside them.

Then the bundle is compiled to bytecode by an interpreter of the runtime's Python version,
found or installed by ``infra.interpreters.find_python``. Lambda's code directory is
read-only, so without ``.pyc`` files every cold start compiles stripe, pydantic and
Powertools from source again (measured: 1,052 ms instead of 432 ms for the handler's
import); bytecode only loads with the interpreter version that wrote it, hence the
matching interpreter. The ``.pyc`` files are ``unchecked-hash``: the zip does not keep the
sources' timestamps, and a timestamp-checked ``.pyc`` would be thrown away and the source
compiled anyway. With no such interpreter to be had, synth warns and ships source.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.interpreters import find_python

#: The folder holding the function's package and its pinned requirements.
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"

#: The packages copied into the bundle as they are: one folder per function under
#: ``functions/`` and ``ledger``, the code they share. Every function ships the same asset
#: (built once per synth) and differs by its handler: the packages are a few hundred
#: kilobytes beside the libraries, and one asset hash cannot mix up two bundles.
PACKAGES = ("charges", "ledger", "outbox", "outcome_events", "pending_check", "webhooks")

#: Provided by the Lambda Python runtime. Removed in case a requirement ever pulls them in:
#: a bundled copy would shadow the runtime's and could mismatch its boto3.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")

#: What pip's --platform is for each Lambda architecture.
PIP_PLATFORMS = {
    lambda_.Architecture.ARM_64.name: "manylinux2014_aarch64",
    lambda_.Architecture.X86_64.name: "manylinux2014_x86_64",
}

#: Left out of the source CDK hashes and copies: caches that change on every test run (the
#: bundle's own bytecode is written afterwards, by ``LocalPipBundler.compile``).
EXCLUDE = ["**/__pycache__", "**/*.pyc", ".pytest_cache", ".mypy_cache"]


class BundlingError(RuntimeError):
    """pip could not install the function's requirements for the Lambda platform."""


class NoBytecodeWarning(UserWarning):
    """No interpreter of the runtime's version to be had: the bundle ships source only."""


@jsii.implements(ILocalBundling)
class LocalPipBundler:
    """Install the requirements for the Lambda platform with pip, then copy the package."""

    def __init__(
        self,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        source_dir: Path = FUNCTIONS_DIR,
        packages: tuple[str, ...] = PACKAGES,
    ) -> None:
        self.python_version = runtime.name.removeprefix("python")
        self.platform = PIP_PLATFORMS[architecture.name]
        self.source_dir = source_dir
        self.packages = packages

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        """Write the bundle into ``output_dir``; True tells CDK that Docker is not needed."""
        self.bundle(Path(output_dir))
        return True

    def bundle(self, output_dir: Path) -> None:
        """Install the pinned requirements for the target platform and copy the package."""
        command = [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(output_dir),
            "--platform", self.platform,
            "--only-binary=:all:",
            "--python-version", self.python_version,
            "--implementation", "cp",
            "-r", str(self.source_dir / "requirements.txt"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BundlingError(
                f"pip could not install {self.source_dir / 'requirements.txt'} for "
                f"{self.platform}, Python {self.python_version}:\n{result.stderr.strip()}"
            )
        for name in RUNTIME_PROVIDED:
            shutil.rmtree(output_dir / name, ignore_errors=True)
            for dist_info in output_dir.glob(f"{name}-*.dist-info"):
                shutil.rmtree(dist_info)
        # Console scripts pip wrote for the host; nothing in Lambda runs them.
        shutil.rmtree(output_dir / "bin", ignore_errors=True)
        for package in self.packages:
            shutil.copytree(
                self.source_dir / package,
                output_dir / package,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        self.compile(output_dir)

    def compile(self, output_dir: Path) -> bool:
        """Write ``.pyc`` files for the runtime's Python; False (and a warning) if none here."""
        interpreter = find_python(self.python_version)
        if interpreter is None:
            warnings.warn(
                f"no python{self.python_version} on this machine, and uv could not install it: "
                "the function is bundled without bytecode, so each cold start compiles its "
                "libraries from source",
                NoBytecodeWarning,
                stacklevel=2,
            )
            return False
        command = [
            interpreter, "-m", "compileall", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash", str(output_dir),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BundlingError(f"could not compile the bundle:\n{result.stdout}{result.stderr}")
        return True


def function_code(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> lambda_.Code:
    """The functions' asset (``PACKAGES`` and the pinned requirements), bundled locally;
    the Docker image is never pulled.

    The asset hash covers ``functions/`` (package and requirements), so the asset changes
    exactly when the code or a pin does.
    """
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        exclude=EXCLUDE,
        bundling=BundlingOptions(
            # Required by the API; local bundling succeeds first, so it is never pulled.
            image=DockerImage.from_registry("unused"),
            local=LocalPipBundler(runtime=runtime, architecture=architecture),
        ),
    )
