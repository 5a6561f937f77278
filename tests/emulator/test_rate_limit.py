"""The emulator's own rate limit: a token bucket that answers 429 above its rate."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_emulator import StripeEmulator
from stripe_emulator.ratelimit import TokenBucket
from tests.emulator.conftest import API_KEY


def test_requests_above_the_rate_get_429_and_the_bucket_refills():
    # GIVEN an emulator allowing 2 requests per second, in bursts of 5
    with StripeEmulator(API_KEY, rate_limit_per_second=2, rate_limit_burst=5) as emulator:
        client = stripe.StripeClient(
            API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0
        )
        # WHEN 8 requests arrive at once
        outcomes = []
        for _ in range(8):
            try:
                client.v1.payment_intents.list()
                outcomes.append("ok")
            except stripe.RateLimitError as error:
                outcomes.append(str(error.http_status))
        # THEN the burst passes and the rest is refused, not retried by the SDK
        assert outcomes == ["ok"] * 5 + ["429"] * 3
        assert emulator.ledger()["requests"]["rate_limited"] == 3
        # AND after half a second there is a token again
        time.sleep(0.6)
        client.v1.payment_intents.list()


def test_token_bucket_allows_the_rate_on_average():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, monotonic=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 0.1
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 10
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_token_bucket_refuses_a_non_positive_rate():
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)
