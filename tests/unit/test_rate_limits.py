"""Each container paces its Stripe requests to its share of Stripe's limits
(docs.stripe.com/rate-limits: global and per endpoint), counted over any sliding second,
the strictest reading of "requests per second"."""

from __future__ import annotations

import random
import threading

import pytest

from charges.payments import _refused_for_rate_limit
from charges.rate_limits import BACK_OFF_SECONDS, WINDOW_SECONDS, StripePacer, endpoint


class FakeClock:
    """Time that moves only when a thread sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


def test_endpoints_are_named_as_stripe_counts_them():
    base = "https://api.stripe.com"
    assert endpoint("post", f"{base}/v1/payment_intents") == "POST /v1/payment_intents"
    assert endpoint("get", f"{base}/v1/payment_intents?customer=cus_1&limit=100") == (
        "GET /v1/payment_intents"
    )
    assert endpoint("get", f"{base}/v1/customers/cus_Q3x9") == "GET /v1/customers/{id}"


@pytest.mark.parametrize("share", [12.5, 5.0, 2.0])
def test_no_second_holds_more_than_the_share(share: float):
    clock = FakeClock()
    pacer = StripePacer(share, 100.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(200):
        pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
        sent.append(clock())
    assert most_in_any_second(sent) <= share
    # and the share is used: its whole part in every window of 1 s + the transit slack
    windows = (sent[-1] - sent[0]) / WINDOW_SECONDS
    assert int(share) * windows <= len(sent) <= int(share) * (windows + 1 + 1e-9)


def test_a_container_that_idled_sends_what_the_last_second_did_not():
    # GIVEN a container that sent its 12 (of 12.5/s) over one second, then idled 0.6 s
    # while its batch's last Stripe calls returned
    clock = FakeClock()
    pacer = StripePacer(12.5, 100.0, clock=clock, sleep=clock.sleep)
    clock.sleep(WINDOW_SECONDS)  # (a new container waits a window: see the next test)
    sent = []
    for _ in range(12):
        pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
        sent.append(clock())
        clock.sleep(1 / 12)
    clock.sleep(0.6)
    # WHEN the next batch arrives THEN every request sent more than a window ago makes
    # room at once: the idle time is not lost
    started = clock()
    room = sum(1 for t in sent if t <= started - WINDOW_SECONDS)
    assert room == 7
    for _ in range(10):
        pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
        sent.append(clock())
    assert sum(1 for t in sent if t == started) == room
    # AND no sliding second holds more than the share
    assert most_in_any_second(sent) <= 12


def test_a_new_container_waits_a_window_before_its_first_request():
    # GIVEN a container Lambda starts in place of one that sent its share a moment ago:
    # reserved concurrency bounds the containers running, not those that sent in the
    # last second
    clock = FakeClock()
    pacer = StripePacer(12.5, 100.0, clock=clock, sleep=clock.sleep)
    clock.sleep(0.4)  # its cold start
    # WHEN it sends THEN its first request goes one window after its creation, and its
    # allowance then goes at once, for the account and for an endpoint first seen later
    assert pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents") == (
        pytest.approx(WINDOW_SECONDS - 0.4)
    )
    for _ in range(11):
        assert pacer.wait_turn("GET", "https://api.stripe.com/v1/customers/cus_1") == 0
    assert pacer.wait_turn("GET", "https://api.stripe.com/v1/customers/cus_1") > 0


def test_a_share_under_one_request_is_refused():
    with pytest.raises(ValueError, match="allows no request"):
        StripePacer(0.8, 25.0)


def test_an_endpoint_share_binds_below_the_global_share():
    clock = FakeClock()
    pacer = StripePacer(50.0, 4.0, clock=clock, sleep=clock.sleep)
    posts = []
    for _ in range(40):
        pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
        posts.append(clock())
        # another endpoint is not held back by this one's bucket
        before = clock()
        pacer.wait_turn("GET", "https://api.stripe.com/v1/customers/cus_1")
        assert clock() - before < 0.5
    assert most_in_any_second(posts) <= 4


def test_record_threads_share_one_bucket():
    clock = FakeClock()
    pacer = StripePacer(6.0, 100.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(10):
            pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
            with lock:
                sent.append(clock())

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 50
    assert most_in_any_second(sent) <= 6


def test_back_off_after_a_429_is_random_and_doubles():
    """docs.stripe.com/rate-limits: exponential back-off, with randomness against a
    thundering herd."""
    clock = FakeClock()
    pacer = StripePacer(12.5, 25.0, clock=clock, sleep=clock.sleep)
    first = [pacer.back_off(0) for _ in range(200)]
    second = [pacer.back_off(1) for _ in range(200)]
    assert min(first) >= 0 and max(first) <= BACK_OFF_SECONDS
    assert BACK_OFF_SECONDS < max(second) <= 2 * BACK_OFF_SECONDS
    assert len(set(first)) > 100  # jittered, not one fixed pause
    assert sum(second) > sum(first)
    assert clock() == pytest.approx(sum(first) + sum(second))


@pytest.mark.parametrize(
    ("status", "content", "retried"),
    [
        (429, b'{"error": {"code": "rate_limit", "type": "invalid_request_error"}}', True),
        (429, b'{"error": {"code": "lock_timeout", "type": "invalid_request_error"}}', False),
        (429, b"<html>Too Many Requests</html>", False),
        (200, b'{"error": {"code": "rate_limit"}}', False),
    ],
)
def test_only_a_rate_limit_429_is_sent_again(status: int, content: bytes, retried: bool):
    assert _refused_for_rate_limit(status, content) is retried


def backlog_rate(batch_size: int, share: float, *, seconds: float = 120.0) -> float:
    """Stripe requests per second one container sends on a backlog: Lambda hands it a
    batch, its records take their turns at the pacer at once (the handler's threads),
    each call takes 300 ms plus up to 300 ms of spread, and the next batch comes 50 ms
    after the slowest call of this one returned (one batch per invocation)."""
    clock = FakeClock()
    pacer = StripePacer(share, 100.0, clock=clock, sleep=clock.sleep)
    spread = random.Random(5)
    sent: list[float] = []
    while clock() < seconds:
        returned = []
        for _ in range(batch_size):
            pacer.wait_turn("POST", "https://api.stripe.com/v1/payment_intents")
            sent.append(clock())
            returned.append(clock() + 0.3 + spread.uniform(0, 0.3))
        clock.now = max(returned) + 0.05
    # over whole windows, after the first (the new container's windows start full)
    counted = [t for t in sent if WINDOW_SECONDS * 2 <= t < WINDOW_SECONDS * 102]
    return len(counted) / (WINDOW_SECONDS * 100)


def test_batches_of_the_allowance_keep_every_window_full_on_a_backlog():
    # GIVEN a container's share of 12.5 requests/s (25/s for 2 containers): 12 per window
    # WHEN Lambda hands it batches of 12, or of a multiple of 12
    # THEN it sends 12 in every window, whatever the spread of Stripe's latency: each 12
    # go as its window turns over, and the next batch is there before the next turn
    for batch_size in (12, 24):
        assert backlog_rate(batch_size, 12.5) == pytest.approx(12 / WINDOW_SECONDS, rel=0.01)
    # WHILE batches of 10 split across windows, and the spread leaves slots unused; and
    # two batches of 6 in a window need two round trips in it, which the spread denies
    for batch_size in (10, 6):
        assert backlog_rate(batch_size, 12.5) < 0.95 * 12 / WINDOW_SECONDS
