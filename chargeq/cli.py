"""``chargeq``: run the pipeline locally, send charge requests, and look after a deployment.

Exit status: 0 done; 1 the command ran but something needs attention (a request was
rejected, an invariant failed); 2 bad usage; 3 the pipeline or AWS could not be reached.
Every failure ends with one line on stderr naming the cause and what to do; set
``CHARGEQ_DEBUG=1`` to see the traceback of an unexpected one. Output cut short by its
reader (``chargeq outcomes | head``) ends quietly with 141, as a command killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from chargeq.failures import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CommandFailed,
    UsageError,
    explain_aws,
)
from chargeq.project import cdk_json_path
from chargeq.request_file import FAULT_BY_REASON, RequestLines, read_request_lines

__all__ = ["EXIT_ATTENTION", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "build_parser", "main"]

#: The flags that say where a deployed pipeline is; ``--local`` takes none of them.
TARGET_FLAGS = ("stack_name", "stage", "endpoint_url", "profile", "region")
#: The exit status of a command whose reader closed the pipe (128 + SIGPIPE), as a shell
#: reports a command the signal killed.
EXIT_BROKEN_PIPE = 141
#: The largest Stripe latency the benchmark may simulate, in milliseconds.
MAX_LATENCY_MS = 60_000


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (and exit status 2) instead of usage text."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _development_tool(module: str) -> Any:
    """Import one of the development tools (``local``, ``demo``, ``chaos``, ``bench``),
    which live in their own distribution (``tools/devtools``), not in the product's wheel."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith(("chargeq_", "stripe_emulator")):
            raise
        raise UsageError(
            "this command is a development tool: run it from a clone ('make install' puts it "
            "in .venv/bin), or install tools/stripe-emulator and tools/devtools"
        ) from error


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()


def _run(argv: Sequence[str] | None) -> int:
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except BrokenPipeError:
        raise
    except CommandFailed as failure:
        print(f"chargeq: {failure}", file=sys.stderr)
        return failure.status
    except (ClientError, BotoCoreError) as error:
        explained = explain_aws(error, local=bool(getattr(args, "local", False)))
        print(f"chargeq: {explained}", file=sys.stderr)
        return explained.status
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("chargeq: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("CHARGEQ_DEBUG"):
            raise
        first_line = (str(error).splitlines() or [""])[0]
        print(
            f"chargeq: unexpected {type(error).__name__}: {first_line} (run again with "
            "CHARGEQ_DEBUG=1 for the traceback, and report it)",
            file=sys.stderr,
        )
        return EXIT_ATTENTION


def _reader_went_away() -> int:
    """The reader of stdout closed it (``| head``): stop quietly. Python would flush
    stdout again at exit and print the error, so stdout becomes /dev/null first
    (docs.python.org/3/library/signal.html, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chargeq",
        description="Charge customers from an SQS queue exactly once. Start with "
        "'chargeq local' (the pipeline on this machine) and 'chargeq send --local ...'.",
        epilog="Run 'chargeq COMMAND --help' for a command's options. Exit status: 0 done, "
        "1 needs attention, 2 bad usage, 3 the pipeline or AWS unreachable.",
    )
    parser.set_defaults(run=lambda _args: _missing_command(parser, "a command"))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    local = commands.add_parser(
        "local",
        help="run the pipeline on this machine until Ctrl-C, for send/status/dlq --local",
        description="Start moto's server (SQS, DynamoDB, Secrets Manager), the Stripe "
        "emulator, the queue, DLQ and table from the project's settings, and the charge "
        "function in worker processes; print the endpoints and a customer to charge; run "
        "until interrupted (Ctrl-C or SIGTERM), then stop everything. 'send', 'status' and "
        "'dlq' talk to it with --local.",
    )
    local.set_defaults(run=_run_local)

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline locally on a mix of requests, and report (no AWS account)",
        description="Start moto and the Stripe emulator on 127.0.0.1, send a realistic mix "
        "of charge requests through the real handler, and report the invariants.",
    )
    demo.add_argument("-n", "--requests", type=_positive, default=300, help="default: 300")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.set_defaults(run=_run_demo)

    chaos = commands.add_parser(
        "chaos",
        help="fault soak of the local pipeline (every fault kind mixed, from a seed)",
        description="Run a seeded fault soak through the local pipeline and print a table: "
        "requests, faults injected by kind, PaymentIntents, double charges, lost, declined, "
        "DLQ by reason. Exits 1 if an invariant breaks for chargeq's handler.",
    )
    chaos.add_argument("-n", "--requests", type=_positive, default=10_000, help="default: 10000")
    chaos.add_argument(
        "--naive-requests",
        type=_positive,
        default=None,
        help="requests for the naive handler's column (default: 400, at most --requests): "
        "it only shows double charges",
    )
    chaos.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    chaos.add_argument(
        "--handler",
        choices=["chargeq", "naive", "both"],
        default="both",
        help="the project's handler, the naive 'before' job, or both side by side (default)",
    )
    chaos.add_argument("--quiet", action="store_true", help="no progress output")
    chaos.add_argument("--json", action="store_true", help="print the table as JSON")
    chaos.set_defaults(run=_run_chaos)

    bench = commands.add_parser(
        "bench",
        help="benchmark the naive, the sequential (Powertools docs) and chargeq's handler",
        description="Run the three handlers side by side on the local pipeline with Stripe "
        "at a realistic latency: records/s, latency per record, billed duration, DynamoDB "
        "and Stripe requests per fresh record and per duplicate, peak memory, batch-of-10 "
        "time, import time, the performance targets and the AWS cost per million charges. "
        "Exits 1 if chargeq's handler charged a request twice.",
    )
    bench.add_argument("-n", "--requests", type=_positive, default=300, help="default: 300")
    bench.add_argument(
        "--latency-ms",
        type=_milliseconds,
        default=300,
        help=f"Stripe latency, 0 to {MAX_LATENCY_MS} (default: 300)",
    )
    bench.add_argument(
        "--jitter-ms",
        type=_milliseconds,
        default=100,
        help="give or take, uniform, at most --latency-ms (default: 100)",
    )
    bench.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    bench.add_argument("--quiet", action="store_true", help="no progress output")
    output = bench.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print every figure as JSON")
    output.add_argument(
        "--markdown", action="store_true", help="print the figures and cost table as Markdown"
    )
    bench.set_defaults(run=_run_bench)

    send = commands.add_parser(
        "send",
        help="send one charge request from flags, or many from a JSON Lines file",
        description="Check charge requests against the contract and send the good ones; "
        "a bad one is reported (with its line, for a file) and makes the exit status 1. "
        "Sending the same request_id again never charges twice.",
    )
    _add_target_options(send)
    send.add_argument(
        "--file", type=Path, help="JSON Lines file, one request per line ('-' for stdin)"
    )
    send.add_argument("--request-id", help="your unique ID for this charge (idempotency key)")
    send.add_argument("--customer", help="Stripe customer ID (cus_...)")
    send.add_argument(
        "--amount",
        type=int,
        help="amount in the currency's minor unit, e.g. cents: 1999 is 19.99 usd",
    )
    send.add_argument("--currency", default="usd", help="lower-case ISO code (default: usd)")
    send.add_argument("--payment-method", help="PaymentMethod ID (pm_...); default: the customer's")
    send.add_argument("--description")
    send.add_argument(
        "--metadata", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
    )
    send.set_defaults(run=_run_send)

    status = commands.add_parser(
        "status",
        help="what the charges ledger (or, before it, the idempotency record) says of a request",
        description="Print the request's state from the charges ledger, whatever its age: "
        "dead_lettered (with the reason), pending (a PaymentIntent still processing, not yet "
        "a success), charged, declined or failed, with the PaymentIntent, Stripe's codes and "
        "every transition with its time and source. A request the ledger has not heard of "
        "yet is read from its idempotency record: in_progress, released (an attempt failed; "
        "the next delivery looks Stripe up first) or its stored outcome; not_found if "
        "neither knows it. Times are ISO 8601 UTC.",
    )
    _add_target_options(status)
    status.add_argument("request_id", metavar="REQUEST_ID", type=_request_id)
    status.set_defaults(run=_run_status)

    outcomes = commands.add_parser(
        "outcomes",
        help="the outcome events (charge.<state>) the stack published, or follow them",
        description="Print the outcome events the stack's bus delivered to its log group, "
        "one JSON object a line (time, detail_type and the event's detail), each once: "
        "redeliveries share an event_id. --follow keeps polling every few seconds until "
        "Ctrl-C.",
    )
    _add_target_options(outcomes)
    outcomes.add_argument(
        "--since",
        type=_duration,
        default="1h",
        metavar="DURATION",
        help="how far back to start: 90s, 15m, 2h, 7d (default: 1h)",
    )
    outcomes.add_argument("--request-id", type=_request_id, help="only this request's events")
    outcomes.add_argument("--follow", action="store_true", help="keep printing new events")
    outcomes.set_defaults(run=_run_outcomes)

    dlq = commands.add_parser(
        "dlq",
        help="inspect or redrive the dead-letter queue",
        description="'dlq list' shows the DLQ's messages with their reasons; 'dlq redrive' "
        "moves them back to the queue.",
    )
    dlq.set_defaults(run=lambda _args: _missing_command(dlq, "'list' or 'redrive'"))
    dlq_commands = dlq.add_subparsers(title="dlq commands", metavar="DLQ_COMMAND")

    dlq_list = dlq_commands.add_parser(
        "list",
        help="show DLQ messages with their reasons, deleting nothing",
        description="Each message with the reason the function gave, the delivery count it "
        "recorded and when it dead-lettered it (messages the redrive policy moved have none).",
    )
    _add_target_options(dlq_list)
    dlq_list.add_argument("--limit", type=_positive, default=100, help="default: 100")
    dlq_list.add_argument("--json", action="store_true", help="one JSON object per line")
    dlq_list.set_defaults(run=_run_dlq_list)

    redrive = dlq_commands.add_parser(
        "redrive",
        help="move DLQ messages back to the queue (safe: nothing is charged twice)",
        description="Move the messages that are in the DLQ now back to the queue, each once, "
        "as new messages with their body and attributes. By default poison that can never "
        "succeed (invalid JSON, a contract violation, no request_id, a payload conflict, a Stripe "
        "idempotency conflict) "
        "stays in the DLQ; name reasons with --reason to move exactly those (hopeless ones "
        "included). --move-task uses SQS's StartMessageMoveTask "
        "instead: every message, moved by SQS itself, no filter.",
    )
    _add_target_options(redrive)
    redrive.add_argument(
        "--reason",
        action="append",
        default=[],
        help="move only messages with this reason (repeatable; 'redrive_policy' for "
        "messages the queue's redrive policy moved)",
    )
    redrive.add_argument("--limit", type=_positive, help="move at most this many")
    redrive.add_argument(
        "--move-task",
        action="store_true",
        help="SQS's StartMessageMoveTask: every message, no --reason or --limit",
    )
    redrive.set_defaults(run=_run_dlq_redrive)
    return parser


def _missing_command(parser: argparse.ArgumentParser, what: str) -> int:
    raise UsageError(f"give {what} (see '{parser.prog} --help')")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    source = cdk_json_path()
    target = parser.add_argument_group("where the pipeline is")
    target.add_argument(
        "--local",
        action="store_true",
        help="the stack 'chargeq local' is running on this machine (no other flag needed)",
    )
    target.add_argument(
        "--stack-name", help="a deployed stack: read its resources from its outputs"
    )
    target.add_argument(
        "--stage",
        help="without --stack-name: the deployment stage, the name that sets one deployment "
        "apart (dev, prod, ...) and that every resource name carries (chargeq-STAGE-...); "
        f"default: chargeq:stage in {source or 'cdk.json'}, else dev",
    )
    target.add_argument("--endpoint-url", help="AWS endpoint, e.g. a moto server")
    target.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or 'default')")
    target.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_LATENCY_MS:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_LATENCY_MS} ms, not {text}")
    return value


def _request_id(text: str) -> str:
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    from charges.contract import RequestId

    try:
        # The contract's patterns are written for Python's re (see charges.contract).
        TypeAdapter(RequestId, config=ConfigDict(regex_engine="python-re")).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a request_id: 1-200 letters, digits and _-:. (the request_id "
            "the request was sent with)"
        ) from None
    return text


def _duration(text: str) -> Any:
    from chargeq.outcomes import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _check_target(args: argparse.Namespace) -> None:
    """``--local`` stands alone, and a stage must be a valid one; checked before anything
    contacts AWS."""
    if args.local:
        given = [name for name in TARGET_FLAGS if getattr(args, name)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UsageError(f"--local needs no {flags}: drop them, or drop --local")
    if args.stage:
        from chargeq.deployment import load_settings

        load_settings(stage=args.stage)


def _deployment(args: argparse.Namespace) -> Any:
    from chargeq.deployment import Deployment

    if args.local:
        return Deployment.from_local(_local_state())
    return Deployment.locate(
        stack_name=args.stack_name,
        stage=args.stage,
        endpoint_url=args.endpoint_url,
        profile=args.profile,
        region=args.region,
    )


def _local_state() -> Any:
    from chargeq.failures import Unreachable
    from chargeq.local_state import LocalStackNotRunning, read_running

    try:
        return read_running()
    except LocalStackNotRunning as error:
        raise Unreachable(str(error)) from None


def _run_local(_args: argparse.Namespace) -> int:
    serve = _development_tool("chargeq_local.serve").serve
    return int(serve())


def _run_demo(args: argparse.Namespace) -> int:
    run_demo = _development_tool("chargeq_local.demo").run_demo
    report = run_demo(requests=args.requests, seed=args.seed, progress=not args.quiet)
    print(report.to_json() if args.json else report.render())
    return EXIT_OK if report.invariants_hold else EXIT_ATTENTION


def _run_chaos(args: argparse.Namespace) -> int:
    soak = _development_tool("chargeq_soak.soak").main
    handlers = ["chargeq", "naive"] if args.handler == "both" else [args.handler]
    return int(
        soak(args.requests, args.seed, handlers, not args.quiet, args.json, args.naive_requests)
    )


def _run_bench(args: argparse.Namespace) -> int:
    if args.jitter_ms > args.latency_ms:
        raise UsageError(
            f"--jitter-ms {args.jitter_ms:g} is more than --latency-ms {args.latency_ms:g}: "
            "a call cannot take less than no time"
        )
    run_bench = _development_tool("chargeq_bench.bench").run_bench
    report = run_bench(
        requests=args.requests,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        seed=args.seed,
        progress=not args.quiet,
    )
    if args.json:
        print(report.to_json())
    else:
        print(report.markdown() if args.markdown else report.render())
    subject = report.handler("chargeq")
    return EXIT_ATTENTION if subject and subject.double_charges else EXIT_OK


def _run_send(args: argparse.Namespace) -> int:
    from chargeq.producer import ChargeProducer
    from charges.contract import ChargeLimits

    _check_target(args)
    lines = _requests_from(args)  # every argument checked before AWS is contacted
    deployment = _deployment(args)
    if deployment.local:
        state = _local_state()
        limits = ChargeLimits(max_amount=state.max_amount, currencies=frozenset(state.currencies))
    else:
        from chargeq.deployment import load_settings

        settings = load_settings(stage=args.stage)
        limits = ChargeLimits(
            max_amount=settings.max_amount, currencies=frozenset(settings.currencies)
        )
    producer = ChargeProducer(
        deployment.queue_url, sqs_client=deployment.client("sqs"), limits=limits
    )
    report = producer.send_many(lines.requests)
    results: list[tuple[int, dict[str, Any]]] = [
        (
            bad.line,
            {
                "rejected": None,
                "line": bad.line,
                "fault": bad.fault,
                "reason": bad.reason,
                "detail": bad.detail,
            },
        )
        for bad in lines.bad
    ]
    for accepted in report.accepted:
        line = lines.line_of(accepted.index)
        results.append(
            (
                line,
                {"accepted": accepted.request_id, "line": line, "message_id": accepted.message_id},
            )
        )
    for rejected in report.rejected:
        line = lines.line_of(rejected.index)
        fault = FAULT_BY_REASON.get(rejected.reason, "contract")
        results.append(
            (
                line,
                {
                    "rejected": rejected.request_id,
                    "line": line,
                    "fault": fault,
                    "reason": rejected.reason,
                    "detail": rejected.detail,
                },
            )
        )
    for _line, result in sorted(results, key=lambda item: item[0]):
        if args.file is None:
            result.pop("line")
        print(json.dumps(result))
    rejected_lines = sorted(line for line, result in results if "rejected" in result)
    unsent = [r for r in report.rejected if FAULT_BY_REASON.get(r.reason) == "sqs"]
    summary = f"sent {len(report.accepted)}, rejected {len(rejected_lines)}"
    if unsent:
        print(
            f"chargeq: {summary}; SQS did not take {len(unsent)} ({unsent[0].detail}): "
            "send again (a request sent twice is charged once)",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    if rejected_lines:
        where = f" (line {', '.join(map(str, rejected_lines))})" if args.file is not None else ""
        print(
            f"chargeq: {summary}{where}: fix the rejected request(s) and send them again",
            file=sys.stderr,
        )
        return EXIT_ATTENTION
    print(f"chargeq: {summary}", file=sys.stderr)
    return EXIT_OK


def _requests_from(args: argparse.Namespace) -> RequestLines:
    """The requests to send: the file's lines, or one request from the flags."""
    if args.file is not None:
        if args.request_id or args.customer or args.amount is not None:
            raise UsageError("give either --file or the request flags, not both")
        if str(args.file) == "-":
            lines = read_request_lines(sys.stdin)
        else:
            try:
                with args.file.open(encoding="utf-8") as stream:
                    lines = read_request_lines(stream)
            except (OSError, UnicodeDecodeError) as error:
                cause = getattr(error, "strerror", None) or type(error).__name__
                raise UsageError(f"cannot read {args.file}: {cause}") from None
        if not lines.requests and not lines.bad:
            raise UsageError(f"{args.file} holds no requests (one JSON object per line)")
        return lines
    missing = [
        flag
        for flag, value in (
            ("--request-id", args.request_id),
            ("--customer", args.customer),
            ("--amount", args.amount),
        )
        if value is None
    ]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (or use --file; see 'chargeq send --help')")
    request: dict[str, Any] = {
        "request_id": args.request_id,
        "customer": args.customer,
        "amount": args.amount,
        "currency": args.currency,
    }
    if args.payment_method:
        request["payment_method"] = args.payment_method
    if args.description:
        request["description"] = args.description
    if args.metadata:
        pairs = [item.partition("=") for item in args.metadata]
        if any(not sep or not key for key, sep, _ in pairs):
            raise UsageError("--metadata takes KEY=VALUE")
        request["metadata"] = {key: value for key, _, value in pairs}
    return RequestLines(requests=[request], line_numbers=[1])


def _run_status(args: argparse.Namespace) -> int:
    from chargeq.status import request_status

    _check_target(args)
    deployment = _deployment(args)
    status = request_status(
        deployment.client("dynamodb"),
        table_name=deployment.table_name,
        ledger_table_name=deployment.ledger_table_name,
        request_id=args.request_id,
    )
    print(json.dumps(status.as_dict(), indent=2))
    return EXIT_OK


def _run_outcomes(args: argparse.Namespace) -> int:
    import time

    from chargeq.outcomes import follow, read_outcomes, unique

    _check_target(args)
    deployment = _deployment(args)
    logs = deployment.client("logs")
    start_ms = int((time.time() - args.since.total_seconds()) * 1000)
    group, request_id = deployment.outcome_log_group_name, args.request_id
    if args.follow:
        events = follow(logs, group, start_ms=start_ms, request_id=request_id)
    else:
        events = unique(read_outcomes(logs, group, start_ms=start_ms, request_id=request_id))
    try:
        for outcome in events:
            print(json.dumps(outcome.as_dict()), flush=True)
    except KeyboardInterrupt:
        if not args.follow:
            raise
        # Ctrl-C is how following ends.
    return EXIT_OK


def _run_dlq_list(args: argparse.Namespace) -> int:
    from chargeq.dlq import approximate_depth, peek

    _check_target(args)
    deployment = _deployment(args)
    sqs = deployment.client("sqs")
    letters = peek(sqs, deployment.dlq_url, limit=args.limit)
    if args.json:
        for letter in letters:
            print(json.dumps(letter.as_dict()))
        return EXIT_OK
    print(f"DLQ holds about {approximate_depth(sqs, deployment.dlq_url)} message(s)")
    for letter in letters:
        receives = "-" if letter.receive_count is None else str(letter.receive_count)
        print(
            f"{letter.message_id}  {letter.reason:<28} receives={receives:<3} "
            f"dead-lettered={letter.failed_at or '-'}"
        )
        if letter.detail:
            print(f"    {letter.detail}")
    return EXIT_OK


def _run_dlq_redrive(args: argparse.Namespace) -> int:
    from chargeq.dlq import KNOWN_REASONS, move_all, redrive_selected

    _check_target(args)
    if args.move_task and (args.reason or args.limit):
        raise UsageError(
            "--move-task moves every message (SQS's task takes no filter): drop --reason "
            "and --limit, or drop --move-task to move selected messages"
        )
    unknown = sorted(set(args.reason) - KNOWN_REASONS)
    if unknown:
        raise UsageError(
            f"no reason {unknown[0]!r}: one of {', '.join(sorted(KNOWN_REASONS))} "
            "('chargeq dlq list' shows each message's)"
        )
    deployment = _deployment(args)
    sqs = deployment.client("sqs")
    progress = _ProgressLine(sys.stderr)
    if args.move_task:
        task = move_all(
            sqs,
            deployment.dlq_url,
            deployment.queue_url,
            on_progress=lambda report: progress.show(
                f"move task {report.status.lower()}: {report.moved} of "
                f"{report.to_move if report.to_move is not None else '?'} moved"
            ),
        )
        progress.done()
        print(json.dumps(task.as_dict()))
        if task.status != "COMPLETED":
            print(f"chargeq: the move task ended {task.status}; run it again", file=sys.stderr)
            return EXIT_ATTENTION
        return EXIT_OK
    report = redrive_selected(
        sqs,
        deployment.dlq_url,
        deployment.queue_url,
        reasons=frozenset(args.reason) or None,
        limit=args.limit,
        on_progress=lambda report: progress.show(
            f"redriven {report.moved}, left {sum(report.skipped.values())}"
        ),
    )
    progress.done()
    print(json.dumps(report.as_dict()))
    return EXIT_OK


class _ProgressLine:
    """Progress on a terminal redraws one line; elsewhere (a log, a pipe) it prints one
    line per change, so the output reads top to bottom."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._redraw = stream.isatty()
        self._last = ""

    def show(self, line: str) -> None:
        if line == self._last:
            return
        self._last = line
        if self._redraw:
            print(f"\r{line}", end="", file=self._stream, flush=True)
        else:
            print(line, file=self._stream, flush=True)

    def done(self) -> None:
        if self._redraw and self._last:
            print(file=self._stream)


if __name__ == "__main__":
    sys.exit(main())
