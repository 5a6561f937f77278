"""Each failure names its real cause and the fix, with the exit status the README promises.

boto3's own sources (botocore 1.44, ``configprovider.py``): the region comes from
``AWS_DEFAULT_REGION`` or the profile's ``region``; ``AWS_REGION`` is read only inside
Lambda. The AWS SDKs and CLI v2 read ``AWS_REGION`` first
(docs.aws.amazon.com/sdkref/latest/guide/feature-region.html), so chargeq does too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chargeq.cli import main
from chargeq.failures import explain_aws
from chargeq.local_state import LocalStackState
from chargeq.project import STATE_DIR_ENV

CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No region, no credentials, no profile files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    return line


def test_no_region_names_both_variables_and_the_flag(bare_environment, capsys):
    assert main(["status", "r1"]) == 2
    line = one_line(capsys)
    assert "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION)" in line


def test_aws_region_is_honoured_like_the_aws_cli(bare_environment, monkeypatch, capsys):
    # GIVEN only AWS_REGION (which boto3 alone ignores) and no credentials
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # WHEN a command needs AWS THEN the region is found and the missing credentials named
    assert main(["status", "r1"]) == 3
    line = one_line(capsys)
    assert "no usable AWS credentials" in line
    assert "aws configure" in line and "--local" in line


def test_an_unknown_profile_is_bad_usage(bare_environment, capsys):
    assert main(["status", "--profile", "nobody", "--region", "eu-west-1", "r1"]) == 2
    assert "The config profile (nobody) could not be found: check --profile" in one_line(capsys)


def test_a_connection_failure_is_not_pipeline_not_found(capsys):
    assert main(["status", "--endpoint-url", CLOSED_PORT, "r1"]) == 3
    line = one_line(capsys)
    assert f"cannot connect to {CLOSED_PORT}" in line
    assert "check --endpoint-url" in line
    assert "not found" not in line


def test_a_missing_stack_names_the_stack_and_region(capsys):
    with mock_aws():
        assert main(["status", "--stack-name", "chargeq-typo", "r1"]) == 3
    line = one_line(capsys)
    assert "no stack 'chargeq-typo' in us-east-1: check --stack-name and --region" in line


def test_a_missing_queue_names_the_settings_file_and_the_ways_out(capsys):
    with mock_aws():
        assert main(["dlq", "list", "--stage", "qa"]) == 3
    line = one_line(capsys)
    assert "no queue 'chargeq-qa-charge-requests' at us-east-1 (stage 'qa'" in line
    assert "cdk.json" in line and "--local" in line


def client_error(code: str, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ReceiveMessage")


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("InvalidClientTokenId", "AWS refused the credentials"),
        ("ExpiredToken", "the AWS credentials have expired"),
        ("AccessDenied", "not allowed to call ReceiveMessage"),
        ("ThrottlingException", "AWS is throttling ReceiveMessage"),
    ],
)
def test_aws_refusals_are_told_apart(code, cause):
    failure = explain_aws(client_error(code))
    assert failure.status == 3
    assert str(failure).startswith(cause)


def test_local_without_a_running_stack_says_how_to_start_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path))
    assert main(["status", "--local", "r1"]) == 3
    assert "no local stack is running: start one with 'chargeq local'" in one_line(capsys)


def test_local_with_a_stale_state_file_says_the_stack_stopped(tmp_path, monkeypatch, capsys):
    # GIVEN a state file left by a stack that was killed (its process is gone)
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path))
    LocalStackState(
        pid=2**22 + 1,  # above Linux's pid_max default: no such process
        aws_endpoint_url=CLOSED_PORT,
        region="us-east-1",
        stripe_url=CLOSED_PORT,
        stage="local",
        queue_url=f"{CLOSED_PORT}/q",
        dlq_url=f"{CLOSED_PORT}/d",
        table_name="t",
        max_amount=100,
        currencies=("usd",),
        customer="cus_x",
        payment_method="pm_x",
        logs=str(tmp_path),
    ).write(tmp_path / "local.json")
    assert json.loads((tmp_path / "local.json").read_text())["pid"] == 2**22 + 1
    # WHEN --local is used THEN it says the stack stopped and how to start one
    assert main(["dlq", "list", "--local"]) == 3
    line = one_line(capsys)
    assert "has stopped): start one with 'chargeq local'" in line


def test_an_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(boto3, "Session", broken)
    assert main(["status", "r1"]) == 1
    line = one_line(capsys)
    assert "unexpected RuntimeError: disk on fire" in line and "CHARGEQ_DEBUG=1" in line
