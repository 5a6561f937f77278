"""Run the emulator in its own process until SIGTERM or SIGINT.

    python -m stripe_emulator --port 0 --api-key sk_test_x [--latency-ms 300 --jitter-ms 100]
        [--rate-limits sandbox|live|off] [--webhook-url URL --webhook-secret whsec_...]

Prints one JSON line, ``{"url": "http://127.0.0.1:PORT", "webhook_endpoints": [{"id",
"url", "secret"}]}``, on stdout once it accepts connections; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import replace
from types import FrameType

from stripe_emulator.async_payments import BankDebitDelays
from stripe_emulator.emulator import DEFAULT_API_KEY, StripeEmulator
from stripe_emulator.ratelimit import PRESETS, RateLimits
from stripe_emulator.webhooks import DEFAULT_BACKOFF_SCALE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator", description="Stripe PaymentIntents API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="secret key to accept")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every request")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="latency give or take")
    parser.add_argument("--seed", type=int, default=0, help="seed of fault rolls and jitter")
    parser.add_argument(
        "--rate-limits",
        choices=sorted(PRESETS),
        default="sandbox",
        help="Stripe's rate limits: sandbox (25/s, the default), live (100/s) or off",
    )
    parser.add_argument(
        "--global-rate-limit", type=float, help="account requests per second (overrides)"
    )
    parser.add_argument(
        "--endpoint-rate-limit", type=float, help="requests per second per endpoint (overrides)"
    )
    parser.add_argument(
        "--webhook-url", action="append", default=[], help="webhook endpoint (repeatable)"
    )
    parser.add_argument("--webhook-secret", help="signing secret whsec_... (default: new)")
    parser.add_argument(
        "--bank-debit-seconds", type=float, default=None, help="processing -> settled, seconds"
    )
    parser.add_argument(
        "--webhook-backoff-scale",
        type=float,
        default=DEFAULT_BACKOFF_SCALE,
        help="webhook retry delays multiplied by this",
    )
    parser.add_argument("--log-level", default="INFO", help="log level on stderr (INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator = StripeEmulator(
        args.api_key,
        host=args.host,
        port=args.port,
        seed=args.seed,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        rate_limits=_rate_limits(args),
        bank_debit_delays=_delays(args.bank_debit_seconds),
        webhook_url=args.webhook_url or None,
        webhook_secret=args.webhook_secret,
        webhook_backoff_scale=args.webhook_backoff_scale,
    )
    with emulator:
        # The secrets go to stdout, the parent's pipe, never to the log.
        ready = {"url": emulator.url, "webhook_endpoints": emulator.webhook_endpoints()}
        print(json.dumps(ready), flush=True)
        while not stop.wait(0.5):
            pass
        logging.getLogger("stripe_emulator").info("stopping")
    return 0


def _rate_limits(args: argparse.Namespace) -> RateLimits:
    limits = PRESETS[args.rate_limits]
    if args.global_rate_limit is not None:
        limits = replace(limits, global_per_second=args.global_rate_limit)
    if args.endpoint_rate_limit is not None:
        limits = replace(limits, endpoint_per_second=args.endpoint_rate_limit)
    return limits


def _delays(seconds: float | None) -> BankDebitDelays | None:
    return None if seconds is None else BankDebitDelays(settle_seconds=seconds)


if __name__ == "__main__":
    sys.exit(main())
