"""Settings derive the worst-case Stripe request rate and refuse a rate above the limit."""

from __future__ import annotations

import pytest

from chargeq.settings import (
    FASTEST_STRIPE_LATENCY_SECONDS,
    STRIPE_LIVE_RATE_LIMIT,
    PipelineSettings,
)


def test_worst_case_rate_is_concurrency_times_in_flight_over_fastest_latency():
    # GIVEN 4 concurrent invocations of 5 records in flight each
    settings = PipelineSettings(max_concurrency=4, records_in_flight=5)
    # THEN every slot firing at the fastest latency gives the worst case
    assert settings.worst_case_stripe_rate == pytest.approx(4 * 5 / FASTEST_STRIPE_LATENCY_SECONDS)


def test_default_rate_limit_is_stripes_live_mode_limit_and_defaults_fit_under_it():
    settings = PipelineSettings()
    assert settings.stripe_rate_limit == STRIPE_LIVE_RATE_LIMIT == 100
    assert settings.worst_case_stripe_rate <= settings.stripe_rate_limit


def test_rate_exactly_at_the_limit_is_accepted():
    # GIVEN 2 x 10 / 0.2 s = 100 requests per second, the live limit itself
    settings = PipelineSettings(max_concurrency=2, records_in_flight=10, stripe_rate_limit=100)
    assert settings.worst_case_stripe_rate == pytest.approx(100)


def test_concurrency_above_the_stripe_rate_limit_is_refused():
    # GIVEN 3 x 10 / 0.2 s = 150 requests per second against the live limit of 100
    # WHEN the settings are built THEN they are refused, naming the numbers and the fix
    with pytest.raises(ValueError, match=r"can reach 150 Stripe requests per second") as caught:
        PipelineSettings(max_concurrency=3, records_in_flight=10)
    assert "stripe_rate_limit (100)" in str(caught.value)
    assert "lower the concurrency" in str(caught.value)


def test_sandbox_rate_limit_refuses_the_default_concurrency():
    # GIVEN a sandbox account's limit of 25 requests per second
    with pytest.raises(ValueError, match="above stripe_rate_limit"):
        PipelineSettings(stripe_rate_limit=25)
    # AND fewer records in flight bring it under: 2 x 2 / 0.2 s = 20
    assert PipelineSettings(stripe_rate_limit=25, records_in_flight=2).worst_case_stripe_rate == 20
