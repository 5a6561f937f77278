"""The pipeline's settings: one definition read by the CDK stack and by the local runtime.

Values come from the ``cdk.json`` context (``-c key=value`` on the command line overrides
them); every field has a validated default, so an empty context is a working dev stack.
The CDK stack (``infra/``) and the local pipeline (``chargeq_local``) both build their
queues, table, event source and function environment from a ``PipelineSettings``, so the
two cannot drift.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from charges.config import STRIPE_API_BASE, FunctionConfig
from charges.contract import CURRENCY_PATTERN, STRIPE_MAX_AMOUNT, split_codes
from charges.metric_names import MetricName
from charges.rate_limits import WINDOW_SECONDS, allowance, sustained_rate

__all__ = ["METRICS_NAMESPACE", "MetricName", "OutputName", "PipelineSettings", "SettingsError"]

DAY = 24 * 3600

#: Stripe's documented rate limits, requests per second (docs.stripe.com/rate-limits): the
#: account's global limit in a sandbox (live mode: 100), and each API endpoint's.
STRIPE_SANDBOX_RATE_LIMIT = 25
STRIPE_LIVE_RATE_LIMIT = 100
STRIPE_ENDPOINT_RATE_LIMIT = 25

#: The largest batch Lambda's SQS event source takes from a standard queue, and the
#: largest without a batching window (docs.aws.amazon.com/lambda/latest/dg/
#: services-sqs-parameters.html; API_CreateEventSourceMapping: "when you set BatchSize to
#: a value greater than 10, you must set MaximumBatchingWindowInSeconds to at least 1").
MAX_BATCH_SIZE = 10_000
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10

#: Threads a container charges a batch's records with, at most.
MAX_RECORDS_IN_FLIGHT = 100

#: How long idempotency records are kept: the life of the pipeline, in practice. No finite
#: horizon bounds when a redriven message can come back (see ``idempotency_expiry_days``).
RECORD_LIFETIME_DAYS = 3650

#: The Stripe endpoints the function calls: a charge, the look-up's listing (each page is
#: a request) and the customer read for its default payment method.
STRIPE_ENDPOINTS = (
    "POST /v1/payment_intents",
    "GET /v1/payment_intents",
    "GET /v1/customers/{id}",
)

#: Every context key the stack reads lives under this prefix in cdk.json.
CONTEXT_PREFIX = "chargeq:"

#: The project's name; with the stage it names resources and the Powertools service.
SERVICE_NAME = "chargeq"

#: CloudWatch namespace of the function's own metrics, read by the alarms and dashboard.
METRICS_NAMESPACE = "ChargeQueue"


class OutputName:
    """CloudFormation output keys of the stack; the CLI reads them to find the resources."""

    QUEUE_URL = "QueueUrl"
    DLQ_URL = "DeadLetterQueueUrl"
    TABLE_NAME = "IdempotencyTableName"
    FUNCTION_NAME = "FunctionName"
    SECRET_NAME = "StripeSecretName"  # noqa: S105 - a name, not a secret
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    DASHBOARD_NAME = "DashboardName"
    LEDGER_TABLE_NAME = "LedgerTableName"
    EVENT_BUS_NAME = "OutcomeEventBusName"
    OUTCOME_LOG_GROUP_NAME = "OutcomeLogGroupName"
    WEBHOOK_URL = "StripeWebhookUrl"


class SettingsError(ValueError):
    """A setting is missing, malformed or inconsistent; the message says which and why."""


class PipelineSettings(BaseModel):
    """Everything a deployment (or the local pipeline) may tune, with safe defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,19}$", description="Deployment stage.")

    # The message contract's configurable limits.
    max_amount: int = Field(
        1_000_000, ge=1, le=STRIPE_MAX_AMOUNT, description="Largest amount in minor units."
    )
    currencies: tuple[str, ...] = Field(("usd",), min_length=1, description="Allowed currencies.")

    # Queueing and retries.
    queue_retention_days: int = Field(4, ge=1, le=14)
    dlq_retention_days: int = Field(14, ge=1, le=14)
    max_receive_count: int = Field(5, ge=1, le=1000)
    batch_size: int = Field(
        12,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="Records per invocation. Best a multiple of each container's Stripe "
        "allowance, the whole part of stripe_rate_limit / max_concurrency (12 by default): "
        "see batches_fill_windows.",
    )
    max_batching_window_seconds: int = Field(
        1,
        ge=0,
        le=300,
        description="Longest the event source gathers records before invoking, seconds "
        "(Lambda allows 0-300; a batch_size above 10 needs at least 1).",
    )
    max_concurrency: int = Field(
        2, ge=2, le=1000, description="Event source maximum concurrency (Lambda allows 2-1000)."
    )
    records_in_flight: int = Field(
        12,
        ge=1,
        le=MAX_RECORDS_IN_FLIGHT,
        description="Records of one batch charged concurrently.",
    )

    # The function.
    function_timeout_seconds: int = Field(30, ge=1, le=900)
    function_memory_mb: int = Field(512, ge=128, le=10240)

    # Idempotency: how long a claim keeps protecting retries. For the life of the pipeline:
    # a DLQ redrive restarts a message's retention, so redrives can chain without end, and
    # the record is the evidence that an earlier attempt may have reached Stripe
    # (docs/protocol.md, the RECORD_EXPIRES mutation).
    idempotency_expiry_days: int = Field(
        RECORD_LIFETIME_DAYS,
        le=36_500,
        description=f"At least {RECORD_LIFETIME_DAYS} days: records outlive every redrive.",
    )

    # Stripe.
    stripe_secret_name: str | None = Field(
        None, description="Import this existing secret; when unset, the stack creates one."
    )
    stripe_rate_limit: int = Field(
        STRIPE_SANDBOX_RATE_LIMIT,
        ge=1,
        description="Requests per second this pipeline may send to the Stripe account in all "
        "(Stripe's global limit: 25 in a sandbox, 100 live; less if others share the account).",
    )
    stripe_endpoint_rate_limit: int = Field(
        STRIPE_ENDPOINT_RATE_LIMIT,
        ge=1,
        description="Requests per second this pipeline may send to one Stripe endpoint.",
    )
    stripe_webhook_secret_name: str | None = Field(
        None,
        description="Import this existing secret holding the webhook endpoint's signing "
        "secret (whsec_...); when unset, the stack creates one.",
    )
    webhook_tolerance_seconds: int = Field(
        300,
        ge=1,
        le=3600,
        description="Oldest Stripe-Signature timestamp accepted (the SDK's default: 300 s).",
    )

    # Outcomes: the ledger and its events.
    outcome_archive_days: int = Field(
        30, ge=1, le=3650, description="Days the event bus's archive keeps outcome events."
    )
    pending_alarm_days: int = Field(
        5,
        ge=1,
        le=60,
        description="Alarm when a request has been pending longer (bank debits settle in "
        "up to 4 business days in the US).",
    )

    soft_decline_attempts: int = Field(
        3,
        ge=1,
        description="Attempts a soft decline gets in all, one delivery each; at most "
        "max_receive_count - 1.",
    )

    # Alarms.
    alarm_email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    oldest_message_alarm_seconds: int = Field(900, ge=60)
    decline_rate_alarm_percent: float = Field(20.0, gt=0, le=100)
    duration_alarm_percent_of_timeout: float = Field(80.0, gt=0, le=100)
    decline_rate_alarm_min_charges: int = Field(
        20, ge=1, description="Charges in the alarm period before the decline rate can alarm."
    )

    @field_validator("currencies", mode="before")
    @classmethod
    def _split_currencies(cls, value: Any) -> Any:
        # `-c chargeq:currencies=usd,eur` arrives as one string.
        if isinstance(value, str):
            return tuple(split_codes(value))
        return value

    @field_validator("currencies")
    @classmethod
    def _currency_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(CURRENCY_PATTERN, code):
                raise ValueError(f"{code!r} is not a lower-case ISO 4217 code such as 'usd'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PipelineSettings:
        if self.dlq_retention_days <= self.queue_retention_days and self.queue_retention_days < 14:
            raise ValueError(
                "dlq_retention_days must be longer than queue_retention_days: a message keeps "
                "its enqueue time when it moves to the DLQ and would expire there early"
            )
        if self.idempotency_expiry_days < RECORD_LIFETIME_DAYS:
            raise ValueError(
                f"idempotency_expiry_days ({self.idempotency_expiry_days}) is shorter than "
                f"{RECORD_LIFETIME_DAYS} days: a DLQ redrive gives a message a fresh "
                "retention, so a chain of redrives can bring a request back after its record "
                "expired, and Stripe will have forgotten its idempotency key: a second charge"
            )
        if self.batch_size > MAX_BATCH_SIZE_WITHOUT_WINDOW and self.max_batching_window_seconds < 1:
            raise ValueError(
                f"batch_size ({self.batch_size}) above {MAX_BATCH_SIZE_WITHOUT_WINDOW} needs "
                "max_batching_window_seconds of at least 1 (Lambda refuses the event source "
                "mapping otherwise)"
            )
        if self.soft_decline_attempts > self.max_receive_count - 1:
            raise ValueError(
                f"soft_decline_attempts ({self.soft_decline_attempts}) must be at most "
                f"max_receive_count - 1 ({self.max_receive_count - 1}): each attempt takes a "
                "delivery, and one must be left for the final record"
            )
        for limit, name in (
            (self.stripe_rate_limit, "stripe_rate_limit"),
            (self.stripe_endpoint_rate_limit, "stripe_endpoint_rate_limit"),
        ):
            if allowance(limit / self.max_concurrency) < 1:
                raise ValueError(
                    f"{name} ({limit}) shared by max_concurrency ({self.max_concurrency}) "
                    f"containers leaves each {limit / self.max_concurrency:.2f} requests per "
                    "second, less than one: a container cannot pace that; lower the concurrency"
                )
        if self.batch_pacing_seconds >= self.function_timeout_seconds:
            windows = self.batch_pacing_windows
            raise ValueError(
                f"batch_size ({self.batch_size}) needs {windows} rate-limit "
                f"window{'s' if windows > 1 else ''} of {WINDOW_SECONDS} s at each container's "
                f"allowance ({self.container_allowance} requests per window) to send one "
                f"request per record, {self.batch_pacing_seconds:.3g} s, which does not fit "
                f"function_timeout_seconds ({self.function_timeout_seconds}): every "
                "invocation would time out; lower the batch or raise the timeout"
            )
        worst = self.worst_case_stripe_rates
        for where, rate in worst.items():
            limit = self.stripe_rate_limit if where == "global" else self.stripe_endpoint_rate_limit
            if rate > limit + 1e-9:
                raise ValueError(
                    f"the worst case of {where} is {rate:.1f} Stripe requests per second, "
                    f"above its limit ({limit})"
                )
        return self

    # Derived values: computed here so the stack and the local runtime agree.

    @property
    def visibility_timeout_seconds(self) -> int:
        """AWS guidance: at least six times the function timeout, plus the batching window
        (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). Records
        received as a window opens stay in flight for the window, the invocation and the
        event source's retries of a throttled invocation; SQS must not hand them out again
        meanwhile."""
        return 6 * self.function_timeout_seconds + self.max_batching_window_seconds

    @property
    def queue_retention_seconds(self) -> int:
        return self.queue_retention_days * DAY

    @property
    def dlq_retention_seconds(self) -> int:
        return self.dlq_retention_days * DAY

    @property
    def idempotency_expiry_seconds(self) -> int:
        return self.idempotency_expiry_days * DAY

    @property
    def stripe_share_per_container(self) -> float:
        """Requests per second each container may send to the account (its share)."""
        return self.stripe_rate_limit / self.max_concurrency

    @property
    def stripe_endpoint_share_per_container(self) -> float:
        """Requests per second each container may send to one endpoint."""
        return self.stripe_endpoint_rate_limit / self.max_concurrency

    @property
    def worst_case_stripe_rates(self) -> dict[str, float]:
        """The most requests in any one second, globally and per endpoint, whatever
        Stripe's latency: every container's windows (``charges.rate_limits``) full, the
        whole part of its share each, for ``max_concurrency`` containers."""

        def worst(share: float) -> float:
            return float(self.max_concurrency * allowance(share))

        rates = {"global": worst(self.stripe_share_per_container)}
        for name in STRIPE_ENDPOINTS:
            rates[name] = worst(self.stripe_endpoint_share_per_container)
        return rates

    @property
    def sustained_stripe_rate(self) -> float:
        """Requests per second the pipeline sustains on a backlog at most: every container
        busy, its window full (the global share binds when it is no larger than an
        endpoint's). Reached when batches fill the windows (``batches_fill_windows``) and
        a batch's Stripe calls return within a window."""
        return self.max_concurrency * sustained_rate(self.stripe_share_per_container)

    @property
    def container_allowance(self) -> int:
        """Stripe requests one container may send in any window (``charges.rate_limits``):
        the whole part of the smaller of its two shares."""
        return allowance(
            min(self.stripe_share_per_container, self.stripe_endpoint_share_per_container)
        )

    @property
    def batch_pacing_windows(self) -> int:
        """Rate-limit windows a container takes to send a batch, one request per record."""
        return math.ceil(self.batch_size / self.container_allowance)

    @property
    def batch_pacing_seconds(self) -> float:
        """The least time pacing a batch takes, seconds: a lower bound (a look-up or a
        customer read adds requests, and no round trip is counted), enough to refuse a
        batch that can never fit the function timeout."""
        return self.batch_pacing_windows * WINDOW_SECONDS

    @property
    def batches_fill_windows(self) -> bool:
        """Whether ``batch_size`` is a multiple of ``container_allowance``.

        Lambda hands a container one batch per invocation, and the next only after the
        slowest call of this one returned. When a batch is the allowance or a multiple of
        it, a container on a backlog sends the allowance the moment its window turns over
        and the next batch is there before the next turn, so every window is full whatever
        the spread of Stripe's latency (as long as a round trip takes less than a window).
        A batch of 10 of 12 splits across windows and leaves slots unused: it measured 85%
        of the limit (by a count about 1% high) where 12 of 12 measured 93%, both with
        25 ms of slack (docs/performance.md). A smaller batch needs several round trips in
        each window, which only a fast Stripe gives."""
        return self.batch_size % self.container_allowance == 0

    @property
    def stripe_timeout_seconds(self) -> float:
        """Per-request Stripe timeout: three tries plus backoff fit in the function timeout."""
        return round(self.function_timeout_seconds / 5, 1)

    @property
    def resource_prefix(self) -> str:
        """Prefix of every resource name; also the Powertools service (metric dimension)."""
        return f"{SERVICE_NAME}-{self.stage}"

    @property
    def stack_name(self) -> str:
        return self.resource_prefix

    @property
    def queue_name(self) -> str:
        return f"{self.resource_prefix}-charge-requests"

    @property
    def dlq_name(self) -> str:
        return f"{self.resource_prefix}-charge-requests-dlq"

    @property
    def table_name(self) -> str:
        return f"{self.resource_prefix}-idempotency"

    @property
    def function_name(self) -> str:
        return f"{self.resource_prefix}-charge"

    @property
    def ledger_table_name(self) -> str:
        return f"{self.resource_prefix}-ledger"

    @property
    def event_bus_name(self) -> str:
        return f"{self.resource_prefix}-outcomes"

    @property
    def outcome_log_group_name(self) -> str:
        """Every outcome event, as the bus's rule delivers it (``chargeq outcomes`` reads it).

        Under ``/aws/events/``: the prefix EventBridge's console requires of a log group
        target (repost.aws knowledge-center/cloudwatch-log-group-eventbridge).
        """
        return f"/aws/events/{self.resource_prefix}-outcomes"

    @property
    def outbox_function_name(self) -> str:
        return f"{self.resource_prefix}-ledger-writer"

    @property
    def publisher_function_name(self) -> str:
        return f"{self.resource_prefix}-outcome-publisher"

    @property
    def webhook_function_name(self) -> str:
        return f"{self.resource_prefix}-stripe-webhooks"

    @property
    def pending_check_function_name(self) -> str:
        return f"{self.resource_prefix}-pending-check"

    @property
    def default_webhook_secret_name(self) -> str:
        return f"{SERVICE_NAME}/{self.stage}/stripe-webhook-signing-secret"

    @property
    def webhook_secret_name(self) -> str:
        return self.stripe_webhook_secret_name or self.default_webhook_secret_name

    @property
    def duration_alarm_threshold_ms(self) -> float:
        """Duration above which an invocation is close enough to the timeout to page."""
        return self.function_timeout_seconds * 1000 * self.duration_alarm_percent_of_timeout / 100

    @property
    def default_secret_name(self) -> str:
        return f"{SERVICE_NAME}/{self.stage}/stripe-api-key"

    @property
    def secret_name(self) -> str:
        return self.stripe_secret_name or self.default_secret_name

    def function_config(
        self,
        *,
        table_name: str,
        dlq_url: str,
        secret_name: str,
        ledger_table_name: str | None = None,
        stripe_api_base: str = STRIPE_API_BASE,
    ) -> FunctionConfig:
        """The charge function's settings, given the names of its resources.

        The stack passes CloudFormation tokens, the local runtime real names and the
        emulator's URL; either writes ``to_environment()`` into the function's environment.
        """
        return FunctionConfig(
            service_name=self.resource_prefix,
            metrics_namespace=METRICS_NAMESPACE,
            log_level="INFO",
            idempotency_table_name=table_name,
            idempotency_expiry_seconds=self.idempotency_expiry_seconds,
            dlq_url=dlq_url,
            ledger_table_name=ledger_table_name or self.ledger_table_name,
            stripe_secret_name=secret_name,
            max_amount=self.max_amount,
            currencies=frozenset(self.currencies),
            max_receive_count=self.max_receive_count,
            records_in_flight=self.records_in_flight,
            stripe_timeout_seconds=self.stripe_timeout_seconds,
            stripe_api_base=stripe_api_base,
            soft_decline_attempts=self.soft_decline_attempts,
            stripe_requests_per_second=self.stripe_share_per_container,
            stripe_endpoint_requests_per_second=self.stripe_endpoint_share_per_container,
        )

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> PipelineSettings:
        """Build settings from CDK context, reading only keys under ``chargeq:``.

        Raises ``SettingsError`` naming the offending key, so ``cdk synth`` stops with a
        message a person can act on.
        """
        values: dict[str, Any] = {}
        for key, value in context.items():
            if not key.startswith(CONTEXT_PREFIX):
                continue
            name = key.removeprefix(CONTEXT_PREFIX).replace("-", "_")
            if name not in cls.model_fields:
                known = ", ".join(CONTEXT_PREFIX + field for field in cls.model_fields)
                raise SettingsError(f"unknown context key {key!r}; known keys: {known}")
            values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @classmethod
    def from_cdk_json(cls, path: Path | str = "cdk.json") -> PipelineSettings:
        """Settings as ``cdk synth`` would see them with no ``-c`` overrides."""
        context = json.loads(Path(path).read_text()).get("context", {})
        return cls.from_context(context)


def _describe(exc: ValidationError) -> str:
    lines = ["invalid chargeq settings:"]
    for error in exc.errors():
        if not error["loc"]:
            # A rule across settings (``_consistent``): its message names the keys, and
            # the input would be every value given.
            lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
            continue
        key = CONTEXT_PREFIX + ".".join(str(part) for part in error["loc"])
        lines.append(f"  {key}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)
