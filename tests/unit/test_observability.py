"""Metrics counted from the record threads: none may be lost to a race."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from charges.metric_names import MetricName
from charges.observability import count, metrics, record_stripe_latency

THREADS = 10
ADDS_PER_THREAD = 9  # 90 values: under Powertools' flush at 100


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so a race shows up in a short test."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)
    metrics.clear_metrics()


def test_counts_added_by_concurrent_records_are_all_kept(eager_thread_switches: None):
    # GIVEN ten record threads that start adding to the same metrics at the same moment
    lost = 0
    with ThreadPoolExecutor(THREADS) as pool:
        for _ in range(100):
            metrics.clear_metrics()
            start = threading.Barrier(THREADS)

            def record(_: int, start: threading.Barrier = start) -> None:
                start.wait()
                for _ in range(ADDS_PER_THREAD):
                    count(MetricName.SUCCEEDED)
                    record_stripe_latency(300.0)

            # WHEN each adds its values
            list(pool.map(record, range(THREADS)))
            kept = metrics.metric_set
            for name in (MetricName.SUCCEEDED, MetricName.STRIPE_LATENCY):
                lost += THREADS * ADDS_PER_THREAD - len(kept[name]["Value"])
    # THEN every value is in the invocation's metric set (Powertools alone lost some)
    assert lost == 0
