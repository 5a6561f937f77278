"""Every command, given bad arguments, exits 2 with one line that says what to do, and
contacts nothing first (the README's promise: 0 done, 1 needs attention, 2 bad usage,
3 the pipeline or AWS unreachable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chargeq import cli
from chargeq.cli import main

BAD_USAGE: list[tuple[list[str], str]] = [
    ([], "give a command"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["local", "--bogus"], "unrecognized arguments: --bogus"),
    (["demo", "-n", "0"], "must be at least 1"),
    (["demo", "-n", "many"], "not a whole number: 'many'"),
    (["chaos", "--handler", "lazy"], "invalid choice: 'lazy'"),
    (["bench", "--latency-ms", "fast"], "not a number of milliseconds: 'fast'"),
    # A review found a negative latency accepted: every number is checked for sense.
    (["bench", "--latency-ms", "-5"], "must be from 0 to 60000 ms, not -5"),
    (["bench", "--latency-ms", "nan"], "must be from 0 to 60000 ms, not nan"),
    (["bench", "--latency-ms", "inf"], "must be from 0 to 60000 ms, not inf"),
    (["bench", "--jitter-ms", "-1"], "must be from 0 to 60000 ms, not -1"),
    (["bench", "--latency-ms", "50", "--jitter-ms", "80"], "--jitter-ms 80 is more than"),
    (["bench", "-n", "-3"], "must be at least 1"),
    (["bench", "--json", "--markdown"], "not allowed with argument --json"),
    (["send"], "missing --request-id, --customer, --amount"),
    (["send", "--request-id", "r1", "--customer", "cus_1"], "missing --amount"),
    (["send", "--request-id", "r1", "--customer", "cus_1", "--amount", "9.99"], "invalid int"),
    (["send", "--file", "requests.jsonl", "--request-id", "r1"], "either --file or"),
    (["send", "--file", "/no/such/requests.jsonl"], "cannot read /no/such/requests.jsonl"),
    (
        ["send", "--request-id", "r1", "--customer", "cus_1", "--amount", "5", "--metadata", "x"],
        "--metadata takes KEY=VALUE",
    ),
    (["send", "--local", "--region", "eu-west-1"], "--local needs no --region"),
    (["send", "--stage", "Prod!", "--request-id", "r1"], "--stage 'Prod!' is not a stage name"),
    (["status"], "required: REQUEST_ID"),
    (["status", "order 42"], "'order 42' is not a request_id"),
    (["status", "--local", "--stack-name", "chargeq-dev", "r1"], "--local needs no --stack-name"),
    (["outcomes", "--since", "yesterday"], "'yesterday' is not a duration"),
    (["outcomes", "--since", "0m"], "'0m' is not a duration"),
    (["outcomes", "--since=-5m"], "'-5m' is not a duration"),
    (["outcomes", "--since", "400d"], "'400d' is longer than a year"),
    (["outcomes", "--request-id", "a b"], "'a b' is not a request_id"),
    (["outcomes", "--local", "--stage", "prod"], "--local needs no --stage"),
    (["dlq"], "give 'list' or 'redrive'"),
    (["dlq", "list", "--limit", "0"], "must be at least 1"),
    (["dlq", "list", "--local", "--profile", "ops"], "--local needs no --profile"),
    (["dlq", "redrive", "--move-task", "--reason", "invalid_json"], "takes no filter"),
    (["dlq", "redrive", "--move-task", "--limit", "3"], "takes no filter"),
    (["dlq", "redrive", "--reason", "typo"], "no reason 'typo': one of"),
]


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the pipeline fails the test: bad usage must be caught before any AWS call."""

    def forbidden(_args: object) -> None:
        pytest.fail("the command contacted AWS before checking its arguments")

    monkeypatch.setattr(cli, "_deployment", forbidden)
    monkeypatch.setattr(cli, "_local_state", forbidden)


@pytest.mark.parametrize(("argv", "expected"), BAD_USAGE, ids=lambda v: " ".join(v) or "-")
def test_bad_usage_exits_two_with_one_line_and_no_aws_call(
    argv: list[str], expected: str, no_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a command line with a mistake WHEN it runs
    status = main(argv)
    # THEN exit status 2 and one line on stderr naming the mistake, no traceback
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("chargeq: ")
    assert expected in line
    assert "Traceback" not in captured.err


def test_help_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--help"]) == 0
    assert "minor unit" in capsys.readouterr().out


def test_help_names_what_a_stage_is_and_no_inside_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps to the terminal's width
    # GIVEN every command's help WHEN read THEN a stage is explained and no project jargon leaks
    texts = []
    for argv in (
        [],
        ["local"],
        ["demo"],
        ["chaos"],
        ["bench"],
        ["send"],
        ["status"],
        ["dlq"],
        ["dlq", "list"],
        ["dlq", "redrive"],
    ):
        assert main([*argv, "--help"]) == 0
        texts.append(capsys.readouterr().out)
    everything = "\n".join(texts)
    assert "issue" not in everything.lower()
    send_help = texts[5]
    assert "deployment stage" in send_help and "chargeq-STAGE" in send_help
    assert str(Path(cli.__file__).resolve().parents[1] / "cdk.json") in send_help
