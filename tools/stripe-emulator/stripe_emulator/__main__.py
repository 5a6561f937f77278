"""Run the emulator in its own process until SIGTERM or SIGINT.

    python -m stripe_emulator --port 0 --api-key sk_test_x [--latency-ms 300 --jitter-ms 100]

Prints one JSON line, ``{"url": "http://127.0.0.1:PORT"}``, on stdout once it accepts
connections; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

from stripe_emulator.emulator import DEFAULT_API_KEY, StripeEmulator


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
        "--rate-limit", type=float, default=None, help="requests per second before 429s"
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
        rate_limit_per_second=args.rate_limit,
    )
    with emulator:
        print(json.dumps({"url": emulator.url}), flush=True)
        while not stop.wait(0.5):
            pass
        logging.getLogger("stripe_emulator").info("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
