"""The function's settings: one model, written to the environment by whoever deploys the
function and read back from it at cold start.

``chargeq.settings.PipelineSettings.function_config`` builds a ``FunctionConfig``; the CDK
stack and the local runtime both pass its ``to_environment()`` to the function, which calls
``from_environment()``, the exact inverse. Every variable is required: a missing or
malformed one fails the cold start with ``ConfigurationError`` naming it, instead of
charging with a default nobody chose.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from charges.contract import ChargeLimits, split_codes

#: Stripe's API, the value of ``STRIPE_API_BASE`` for every deployment; only the local
#: runtime and tests point it at the Stripe emulator.
STRIPE_API_BASE = "https://api.stripe.com"


class ConfigurationError(RuntimeError):
    """The function's environment is missing a variable or holds a malformed one."""


class FunctionConfig(BaseModel):
    """Everything the handler needs to know about its deployment.

    Each field travels as the environment variable named by its alias.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    # Powertools reads these three itself; they are here so they are written in one place.
    service_name: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1)
    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1)
    log_level: str = Field(alias="POWERTOOLS_LOG_LEVEL", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    #: Seconds a completed charge keeps protecting retries.
    idempotency_expiry_seconds: int = Field(alias="IDEMPOTENCY_EXPIRY_SECONDS", ge=3600)
    dlq_url: str = Field(alias="DLQ_URL", min_length=1)
    #: The charges ledger, written when a request is dead-lettered (``ledger``).
    ledger_table_name: str = Field(alias="LEDGER_TABLE_NAME", min_length=1)
    stripe_secret_name: str = Field(alias="STRIPE_SECRET_NAME", min_length=1)
    #: Largest amount accepted, in the currency's minor unit.
    max_amount: int = Field(alias="MAX_AMOUNT", ge=1)
    #: Lower-case ISO 4217 codes; travels as ``"usd,eur"``.
    currencies: frozenset[str] = Field(alias="CURRENCIES", min_length=1)
    max_receive_count: int = Field(alias="MAX_RECEIVE_COUNT", ge=1)
    #: Records of one batch charged concurrently (1: one at a time).
    records_in_flight: int = Field(alias="RECORDS_IN_FLIGHT", ge=1, le=100)
    #: Per-request Stripe timeout, in seconds.
    stripe_timeout_seconds: float = Field(alias="STRIPE_TIMEOUT_SECONDS", gt=0)
    stripe_api_base: str = Field(alias="STRIPE_API_BASE", pattern=r"^https?://")
    #: Attempts a soft decline gets in all (``charges.declines``), each under its own key.
    soft_decline_attempts: int = Field(alias="SOFT_DECLINE_ATTEMPTS", ge=1)
    #: This container's share of Stripe's account-wide limit, requests per second (the
    #: limit divided by the event source's maximum concurrency; ``charges.rate_limits``).
    stripe_requests_per_second: float = Field(alias="STRIPE_REQUESTS_PER_SECOND", gt=1)
    #: This container's share of each Stripe endpoint's limit, requests per second.
    stripe_endpoint_requests_per_second: float = Field(
        alias="STRIPE_ENDPOINT_REQUESTS_PER_SECOND", gt=1
    )

    @field_validator("currencies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return frozenset(split_codes(value)) if isinstance(value, str) else value

    @property
    def limits(self) -> ChargeLimits:
        return ChargeLimits(max_amount=self.max_amount, currencies=self.currencies)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> FunctionConfig:
        """Read every variable; raise ``ConfigurationError`` naming what is missing or wrong."""
        environ = os.environ if environ is None else environ
        names = [field.alias for field in cls.model_fields.values() if field.alias]
        missing = [name for name in names if name not in environ]
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        try:
            return cls.model_validate({name: environ[name] for name in names})
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                for item in error.errors(include_url=False)
            )
            raise ConfigurationError(f"invalid environment: {problems}") from None

    def to_environment(self) -> dict[str, str]:
        """The variables ``from_environment`` reads back into an equal config."""
        values: dict[str, Any] = self.model_dump(by_alias=True)
        values["CURRENCIES"] = ",".join(sorted(self.currencies))
        return {name: str(value) for name, value in values.items()}
