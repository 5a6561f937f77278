"""Settings derive the worst-case Stripe request rate, globally and per endpoint, and refuse
settings that could exceed Stripe's limits (docs.stripe.com/rate-limits: 25 requests/s per
endpoint; globally 25/s in a sandbox, 100/s live)."""

from __future__ import annotations

import pytest

from chargeq.settings import (
    STRIPE_ENDPOINTS,
    STRIPE_SANDBOX_RATE_LIMIT,
    PipelineSettings,
)


def test_defaults_fit_a_sandbox_account_globally_and_per_endpoint():
    settings = PipelineSettings()
    assert (settings.stripe_rate_limit, settings.stripe_endpoint_rate_limit) == (25, 25)
    assert settings.stripe_rate_limit == STRIPE_SANDBOX_RATE_LIMIT
    worst = settings.worst_case_stripe_rates
    assert set(worst) == {"global", *STRIPE_ENDPOINTS}
    assert worst["global"] <= 25
    assert all(worst[name] <= 25 for name in STRIPE_ENDPOINTS)


def test_each_container_takes_its_share_of_each_limit():
    # GIVEN a live account (100/s) shared by 4 concurrent containers
    settings = PipelineSettings(max_concurrency=4, stripe_rate_limit=100)
    config = settings.function_config(table_name="t", dlq_url="https://q/d", secret_name="s")
    # THEN each container paces itself to a quarter of each limit
    assert config.stripe_requests_per_second == pytest.approx(25)
    assert config.stripe_endpoint_requests_per_second == pytest.approx(6.25)
    # AND the worst case over all containers is within each limit, whatever the latency:
    # the whole part of each share (6 of 6.25) in any second
    assert settings.worst_case_stripe_rates["global"] == 100
    assert settings.worst_case_stripe_rates["POST /v1/payment_intents"] == 24


def test_sustained_rate_is_every_window_full():
    # 2 containers x 12 requests (the whole part of 12.5) per 1.025 s window = 23.4/s: 94%
    # of the sandbox limit
    assert PipelineSettings().sustained_stripe_rate == pytest.approx(24 / 1.025)


def test_concurrency_that_leaves_a_container_less_than_a_request_is_refused():
    # GIVEN 25 containers sharing 25 requests/s: one each is still a pace
    assert PipelineSettings(max_concurrency=25).worst_case_stripe_rates["global"] == 25
    # AND 30 leave each less than one request per second
    with pytest.raises(ValueError, match="cannot pace") as caught:
        PipelineSettings(max_concurrency=30)
    assert "stripe_rate_limit (25)" in str(caught.value)
    assert "lower the concurrency" in str(caught.value)


def test_soft_decline_attempts_must_leave_a_delivery():
    assert PipelineSettings().soft_decline_attempts == 3
    with pytest.raises(ValueError, match=r"max_receive_count - 1 \(2\)"):
        PipelineSettings(max_receive_count=3, soft_decline_attempts=3)
    assert PipelineSettings(max_receive_count=3, soft_decline_attempts=2)
