"""Settings derive the worst-case Stripe request rate, globally and per endpoint, and refuse
settings that could exceed Stripe's limits (docs.stripe.com/rate-limits: 25 requests/s per
endpoint; globally 25/s in a sandbox, 100/s live)."""

from __future__ import annotations

import pytest

from chargeq.settings import (
    STRIPE_ENDPOINTS,
    STRIPE_SANDBOX_RATE_LIMIT,
    PipelineSettings,
    SettingsError,
)
from chargeq_local.runner import local_settings


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
    # 2 containers x 12 requests (the whole part of 12.5) per 1.05 s window = 22.9/s: 91%
    # of the sandbox limit
    assert PipelineSettings().sustained_stripe_rate == pytest.approx(24 / 1.05)


def test_the_default_batch_is_each_containers_allowance():
    # GIVEN the defaults: 25 requests/s shared by 2 containers, 12 per window each
    settings = PipelineSettings()
    assert settings.container_allowance == 12
    # THEN a batch is those 12, charged at once, gathered for at most a second
    assert (settings.batch_size, settings.records_in_flight) == (12, 12)
    assert settings.max_batching_window_seconds == 1
    assert settings.batches_fill_windows
    # AND a multiple of the allowance fills the windows too, 10 of 12 does not
    assert PipelineSettings(batch_size=24).batches_fill_windows
    assert not PipelineSettings(batch_size=10).batches_fill_windows
    # AND the allowance follows the concurrency and the smaller of the two limits
    assert PipelineSettings(max_concurrency=4).container_allowance == 6
    assert PipelineSettings(stripe_endpoint_rate_limit=10).container_allowance == 5


def test_a_batch_above_ten_needs_a_batching_window():
    # Lambda: "when you set BatchSize to a value greater than 10, you must set
    # MaximumBatchingWindowInSeconds to at least 1" (API_CreateEventSourceMapping)
    with pytest.raises(ValueError, match=r"batch_size \(12\) above 10 needs"):
        PipelineSettings(max_batching_window_seconds=0)
    assert PipelineSettings(batch_size=10, max_batching_window_seconds=0).batch_size == 10


def test_the_visibility_timeout_has_room_for_the_batching_window():
    # AWS: "set the source queue's visibility timeout to at least six times the timeout
    # that you configure on your function, plus the value of MaximumBatchingWindowInSeconds"
    # (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html): records received
    # as a window opens are in flight for the window, the invocation and Lambda's retries
    assert PipelineSettings().visibility_timeout_seconds == 6 * 30 + 1
    # AND so a window longer than five function timeouts is no longer refused: it fits
    short = PipelineSettings(function_timeout_seconds=2, max_batching_window_seconds=10)
    assert short.visibility_timeout_seconds == 22


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


def test_a_rule_across_settings_is_refused_in_one_line_naming_its_keys():
    # GIVEN `-c chargeq:batch_size=20 -c chargeq:max_batching_window_seconds=0` (strings)
    context = {"chargeq:batch_size": "20", "chargeq:max_batching_window_seconds": "0"}
    with pytest.raises(SettingsError) as refused:
        PipelineSettings.from_context(context)
    # THEN the line under the heading names the keys and the rule, without pydantic's
    # "Value error, " prefix or a dump of every value given
    [line] = str(refused.value).splitlines()[1:]
    assert line == (
        "  batch_size (20) above 10 needs max_batching_window_seconds of at least 1 (Lambda "
        "refuses the event source mapping otherwise)"
    )


def test_a_batch_the_pacing_cannot_send_within_the_function_timeout_is_refused():
    # GIVEN each container's allowance of 12 requests per 1.05 s window (the defaults):
    # a batch of 1,200 needs 100 windows, 105 s, just to send one request per record, and
    # every invocation would time out at 30 s, the records failing until the DLQ
    with pytest.raises(ValueError, match=r"batch_size \(1200\) needs 100 rate-limit windows"):
        PipelineSettings(batch_size=1200)
    # AND a batch that fits (24: two windows, 2.1 s) is accepted, as is a longer timeout
    assert PipelineSettings(batch_size=24).batch_size == 24
    assert PipelineSettings(batch_size=1200, function_timeout_seconds=120).batch_size == 1200


def test_a_local_run_raises_its_short_timeout_to_what_the_pacing_needs():
    # GIVEN the local runtime's 2 s function timeout (retries come back in seconds)
    assert local_settings(PipelineSettings()).function_timeout_seconds == 2
    # WHEN a deployment's settings give each container 8 requests per window (3 of them):
    # a batch of 12 needs two windows, 2.1 s
    three = local_settings(PipelineSettings(max_concurrency=3))
    # THEN the local run takes 3 s instead of refusing settings the user never set
    assert three.function_timeout_seconds == 3
    assert three.stage == "local"
