"""``chargeq local`` as a newcomer runs it: start it, send to it with ``--local`` from
another directory with no AWS settings, see the charge, interrupt it, and find nothing left
running."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import boto3
import pytest

from chargeq.project import STATE_DIR_ENV

STARTUP_SECONDS = 90


def chargeq(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chargeq.cli", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    still = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            still.add(pid)
    return still


def stop_everything(stack: subprocess.Popen[str]) -> None:
    """After a failed assertion: kill the stack and every process under it (the servers run
    in process groups of their own, so its group alone is not enough)."""
    if stack.poll() is not None:
        return
    for pid in descendants(stack.pid) | {stack.pid}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stack.wait()


def read_banner(stdout: IO[str]) -> list[str]:
    """The lines ``chargeq local`` prints once it is ready (up to its last sample command)."""
    lines: list[str] = []
    while not any("chargeq dlq list --local" in line for line in lines):
        line = stdout.readline()
        if not line:
            pytest.fail(f"chargeq local exited before it was ready: {lines}")
        lines.append(line.rstrip("\n"))
    return lines


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """No AWS region, credentials or endpoint: --local must need none of them."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return env | {STATE_DIR_ENV: str(tmp_path / "state"), "AWS_EC2_METADATA_DISABLED": "true"}


def start_local(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    # Its own session, so the test can send SIGINT to the whole group, as Ctrl-C does.
    return subprocess.Popen(
        [sys.executable, "-m", "chargeq.cli", "local"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_state(request_id: str, env: dict[str, str], cwd: Path, want: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        result = chargeq("status", "--local", request_id, env=env, cwd=cwd)
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)
        if shown["state"] == want or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def wait_for_dead_letter(env: dict[str, str], cwd: Path) -> list[dict]:
    deadline = time.monotonic() + 60
    while True:
        listed = chargeq("dlq", "list", "--local", "--json", env=env, cwd=cwd)
        assert listed.returncode == 0, listed.stderr
        letters = [json.loads(line) for line in listed.stdout.splitlines()]
        if letters or time.monotonic() > deadline:
            return letters
        time.sleep(0.5)


def test_local_stack_charges_what_send_local_sends_and_stops_on_ctrl_c(
    environment: dict[str, str], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # GIVEN `chargeq local` started from some directory
    stack = start_local(environment, elsewhere)
    try:
        assert stack.stdout is not None
        banner = read_banner(stack.stdout)
        text = "\n".join(banner)
        for label in ("AWS endpoint (moto)", "Stripe emulator", "queue", "DLQ", "customer"):
            assert label in text
        (sample,) = [line.strip() for line in banner if line.strip().startswith("chargeq send")]
        # WHEN the sample command it printed is run from another directory, no AWS settings
        sent = chargeq(*shlex.split(sample)[1:], env=environment, cwd=elsewhere)
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout.splitlines()[0])["accepted"] == "order-1"
        # THEN the pipeline behind it charges the request
        shown = wait_for_state("order-1", environment, elsewhere, "charged")
        assert shown["state"] == "charged", shown
        assert shown["payment_intent_id"].startswith("pi_")
        # AND poison put on its queue is listed with the count and time the function recorded
        state = json.loads((Path(environment[STATE_DIR_ENV]) / "local.json").read_text())
        boto3.client(
            "sqs",
            endpoint_url=state["aws_endpoint_url"],
            region_name=state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).send_message(QueueUrl=state["queue_url"], MessageBody="not json")
        letters = wait_for_dead_letter(environment, elsewhere)
        assert [(x["reason"], x["receive_count"]) for x in letters] == [("invalid_json", 1)]
        assert letters[0]["failed_at"].endswith("+00:00")
        children = descendants(stack.pid)
        assert len(children) >= 4  # moto, the emulator, the workers
        # WHEN Ctrl-C reaches its process group
        os.killpg(stack.pid, signal.SIGINT)
        _, stderr = stack.communicate(timeout=60)
    finally:
        stop_everything(stack)
    # THEN it exits 0 without a traceback, leaving no process and no state file behind
    assert stack.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped" in stderr
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(children)
    assert not (Path(environment[STATE_DIR_ENV]) / "local.json").exists()
    # AND --local now says there is nothing to talk to
    gone = chargeq("status", "--local", "order-1", env=environment, cwd=elsewhere)
    assert gone.returncode == 3
    assert "no local stack is running: start one with 'chargeq local'" in gone.stderr


def test_a_second_local_stack_is_refused_and_sigterm_stops_the_first(
    environment: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN a running `chargeq local`
    stack = start_local(environment, tmp_path)
    try:
        assert stack.stdout is not None
        read_banner(stack.stdout)
        children = descendants(stack.pid)
        # WHEN a second one is started THEN it refuses, naming the first
        second = chargeq("local", env=environment, cwd=tmp_path)
        assert second.returncode == 1
        assert f"a local stack is already running (process {stack.pid})" in second.stderr
        # WHEN the first gets SIGTERM (as from `kill` or a process manager)
        stack.terminate()
        _, stderr = stack.communicate(timeout=60)
    finally:
        stop_everything(stack)
    # THEN it stops cleanly too
    assert stack.returncode == 0, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(children)
