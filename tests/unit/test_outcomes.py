"""How results and failures are counted: pending is never a success, a lock timeout is not
the account's rate limit (docs.stripe.com/rate-limits, "Object lock timeouts")."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from charges.metric_names import MetricName
from charges.observability import metrics
from charges.outcomes import ChargeResult, Reason, TransientFailure, report, settle_failure
from tests.unit.fakes import FakeDeadLetters


@pytest.fixture
def counted() -> Iterator[dict[str, Any]]:
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def test_pending_is_counted_as_pending_never_as_charged(counted: dict[str, Any]):
    report(
        ChargeResult(
            request_id="r-1",
            outcome="pending",
            payment_intent_id="pi_1",
            status="processing",
            amount=1500,
            currency="usd",
        )
    )
    assert counted[MetricName.PENDING]["Value"] == [1.0]
    assert MetricName.SUCCEEDED not in counted


def record(receive_count: int = 1) -> Any:
    return SimpleNamespace(
        message_id="m-1", attributes=SimpleNamespace(approximate_receive_count=str(receive_count))
    )


@pytest.mark.parametrize(
    ("reason", "metric", "not_metric"),
    [
        (
            Reason.STRIPE_LOCK_TIMEOUT,
            MetricName.STRIPE_LOCK_TIMEOUT,
            MetricName.STRIPE_RATE_LIMITED,
        ),
        (
            Reason.STRIPE_RATE_LIMITED,
            MetricName.STRIPE_RATE_LIMITED,
            MetricName.STRIPE_LOCK_TIMEOUT,
        ),
    ],
)
def test_a_lock_timeout_is_not_counted_as_rate_limiting(
    counted: dict[str, Any], reason: Reason, metric: str, not_metric: str
):
    with pytest.raises(TransientFailure):
        settle_failure(
            record(), TransientFailure(reason, "429"), FakeDeadLetters(), max_receive_count=5
        )
    assert counted[metric]["Value"] == [1.0]
    assert not_metric not in counted


def stripe_error(status: int, code: str) -> Exception:
    """The error the stripe SDK raises for this answer (its own status-to-class mapping)."""
    from stripe._api_requestor import _APIRequestor

    body = {"error": {"type": "invalid_request_error", "code": code, "message": code}}
    requestor = _APIRequestor()
    error: Exception = requestor.specific_v1_api_error(str(body), status, body, {}, body["error"])
    return error


def test_stripe_errors_with_reasons_of_their_own():
    from charges.payments import _failure

    # 409 idempotency_key_in_use: docs.stripe.com/error-codes#idempotency-key-in-use
    in_use = _failure(stripe_error(409, "idempotency_key_in_use"))  # type: ignore[arg-type]
    assert isinstance(in_use, TransientFailure)
    assert in_use.reason is Reason.STRIPE_IDEMPOTENCY_KEY_IN_USE
    # 429 lock_timeout: docs.stripe.com/rate-limits, "Object lock timeouts"
    locked = _failure(stripe_error(429, "lock_timeout"))  # type: ignore[arg-type]
    assert isinstance(locked, TransientFailure) and locked.reason is Reason.STRIPE_LOCK_TIMEOUT
    limited = _failure(stripe_error(429, "rate_limit"))  # type: ignore[arg-type]
    assert isinstance(limited, TransientFailure) and limited.reason is Reason.STRIPE_RATE_LIMITED
