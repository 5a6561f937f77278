"""``chargeq``: run the pipeline locally, send charge requests, and look after a deployment.

Exit status: 0 success; 1 the command ran but something needs attention (a request was
rejected, an invariant failed); 2 bad usage; 3 the pipeline or AWS could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input from the command line or a file, reported with exit status 2."""


def _development_tool(module: str) -> Any:
    """Import one of the development tools (``demo``, ``chaos``, ``bench``), which live in
    their own distribution (``tools/devtools``) and are not part of the product's wheel."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith(("chargeq_", "stripe_emulator")):
            raise
        raise UsageError(
            "this command is a development tool: run it from a clone with 'make demo', "
            "'make chaos' or 'make bench', or install tools/stripe-emulator and tools/devtools"
        ) from error


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    from chargeq.deployment import DeploymentNotFound

    try:
        return int(args.run(args))
    except UsageError as error:
        print(f"chargeq: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DeploymentNotFound as error:
        print(f"chargeq: pipeline not found: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (ClientError, BotoCoreError) as error:
        print(f"chargeq: AWS error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargeq",
        description="Charge customers from an SQS queue exactly once.",
        epilog="Run 'chargeq COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline locally (no AWS account, no network)",
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
    chaos.add_argument("-n", "--requests", type=_positive, default=2000, help="default: 2000")
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
        "time, import time, the issue's targets and the AWS cost per million charges. "
        "Exits 1 if chargeq's handler charged a request twice.",
    )
    bench.add_argument("-n", "--requests", type=_positive, default=300, help="default: 300")
    bench.add_argument(
        "--latency-ms", type=float, default=300, help="Stripe latency (default: 300)"
    )
    bench.add_argument(
        "--jitter-ms", type=float, default=100, help="give or take, uniform (default: 100)"
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
        description="Validate charge requests against the contract and send them. "
        "Sending the same request_id again never charges twice.",
    )
    _add_target_options(send)
    send.add_argument("--file", type=Path, help="JSON Lines file of requests ('-' for stdin)")
    send.add_argument("--request-id")
    send.add_argument("--customer", help="Stripe customer ID (cus_...)")
    send.add_argument("--amount", type=int, help="amount in minor units (cents)")
    send.add_argument("--currency", default="usd", help="default: usd")
    send.add_argument("--payment-method", help="PaymentMethod ID (pm_...)")
    send.add_argument("--description")
    send.add_argument(
        "--metadata", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
    )
    send.set_defaults(run=_run_send)

    status = commands.add_parser(
        "status",
        help="what the idempotency record says about a request",
        description="Print the request's state: not_found, in_progress, charged (with the "
        "PaymentIntent) or declined.",
    )
    _add_target_options(status)
    status.add_argument("request_id", metavar="REQUEST_ID")
    status.set_defaults(run=_run_status)

    dlq = commands.add_parser("dlq", help="inspect or redrive the dead-letter queue")
    dlq_commands = dlq.add_subparsers(title="dlq commands", metavar="DLQ_COMMAND")
    dlq.set_defaults(run=lambda _args: _usage(dlq))

    dlq_list = dlq_commands.add_parser(
        "list", help="show DLQ messages with their reasons, deleting nothing"
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
        "succeed (invalid JSON, a contract violation, no request_id, a payload conflict) "
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


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    target = parser.add_argument_group("where the pipeline is")
    target.add_argument("--stack-name", help="read resources from this stack's outputs")
    target.add_argument("--stage", help="without --stack-name: the stage in cdk.json's naming")
    target.add_argument("--endpoint-url", help="AWS endpoint, e.g. a local moto server")
    target.add_argument("--profile", help="AWS profile")
    target.add_argument("--region", help="AWS region")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _deployment(args: argparse.Namespace) -> Any:
    from chargeq.deployment import Deployment

    return Deployment.locate(
        stack_name=args.stack_name,
        stage=args.stage,
        endpoint_url=args.endpoint_url,
        profile=args.profile,
        region=args.region,
    )


def _run_demo(args: argparse.Namespace) -> int:
    run_demo = _development_tool("chargeq_local.demo").run_demo
    report = run_demo(requests=args.requests, seed=args.seed, progress=not args.quiet)
    print(report.to_json() if args.json else report.render())
    return EXIT_OK if report.invariants_hold else EXIT_ATTENTION


def _run_chaos(args: argparse.Namespace) -> int:
    soak = _development_tool("chargeq_soak.soak").main
    handlers = ["chargeq", "naive"] if args.handler == "both" else [args.handler]
    return soak(args.requests, args.seed, handlers, not args.quiet, args.json)


def _run_bench(args: argparse.Namespace) -> int:
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
    from chargeq.deployment import load_settings
    from chargeq.producer import ChargeProducer
    from charges.contract import ChargeLimits

    requests = list(_requests_from(args))
    deployment = _deployment(args)
    settings = load_settings(stage=args.stage)
    producer = ChargeProducer(
        deployment.queue_url,
        sqs_client=deployment.client("sqs"),
        limits=ChargeLimits(
            max_amount=settings.max_amount, currencies=frozenset(settings.currencies)
        ),
    )
    report = producer.send_many(requests)
    for accepted in report.accepted:
        print(json.dumps({"accepted": accepted.request_id, "message_id": accepted.message_id}))
    for rejected in report.rejected:
        print(
            json.dumps(
                {
                    "rejected": rejected.request_id,
                    "line": rejected.index + 1,
                    "reason": rejected.reason,
                    "detail": rejected.detail,
                }
            )
        )
    print(f"sent {len(report.accepted)}, rejected {len(report.rejected)}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_ATTENTION


def _requests_from(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    if args.file is not None:
        if args.request_id or args.customer or args.amount is not None:
            raise UsageError("give either --file or the request flags, not both")
        stream: TextIO = sys.stdin if str(args.file) == "-" else _open(args.file)
        with stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    document = json.loads(line)
                except json.JSONDecodeError as error:
                    raise UsageError(f"{args.file}:{number}: not JSON ({error.msg})") from None
                if not isinstance(document, dict):
                    raise UsageError(f"{args.file}:{number}: expected a JSON object")
                yield document
        return
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
        raise UsageError(f"missing {', '.join(missing)} (or use --file)")
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
    yield request


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _run_status(args: argparse.Namespace) -> int:
    from chargeq.status import read_status

    deployment = _deployment(args)
    status = read_status(deployment.client("dynamodb"), deployment.table_name, args.request_id)
    print(json.dumps(status.as_dict(), indent=2))
    return EXIT_OK


def _run_dlq_list(args: argparse.Namespace) -> int:
    from chargeq.dlq import approximate_depth, peek

    deployment = _deployment(args)
    sqs = deployment.client("sqs")
    letters = peek(sqs, deployment.dlq_url, limit=args.limit)
    if args.json:
        for letter in letters:
            print(json.dumps(letter.as_dict()))
        return EXIT_OK
    print(f"DLQ holds about {approximate_depth(sqs, deployment.dlq_url)} message(s)")
    for letter in letters:
        print(f"{letter.message_id}  {letter.reason:<28} receives={letter.receive_count}")
        if letter.detail:
            print(f"    {letter.detail}")
    return EXIT_OK


def _run_dlq_redrive(args: argparse.Namespace) -> int:
    from chargeq.dlq import move_all, redrive_selected

    if args.move_task and (args.reason or args.limit):
        raise UsageError(
            "--move-task moves every message (SQS's task takes no filter): drop --reason "
            "and --limit, or drop --move-task to move selected messages"
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
