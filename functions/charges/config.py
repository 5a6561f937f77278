"""The function's settings, parsed once from its environment.

The CDK stack and the local runtime both write this environment from
``chargeq.settings.PipelineSettings.function_environment``; a missing or malformed
variable fails the cold start loudly instead of charging with a wrong limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from charges.contract import ChargeLimits


def split_codes(value: str) -> list[str]:
    """``"usd, eur"`` as ``["usd", "eur"]``: how a list of currencies travels as one string
    (an environment variable, a ``cdk -c`` option)."""
    return [code.strip() for code in value.split(",") if code.strip()]


class FunctionConfig(BaseModel):
    """Everything the handler needs to know about its deployment."""

    model_config = ConfigDict(frozen=True)

    idempotency_table_name: str = Field(min_length=1)
    idempotency_expiry_seconds: int = Field(ge=3600)
    dlq_url: str = Field(min_length=1)
    stripe_secret_name: str = Field(min_length=1)
    max_amount: int = Field(ge=1)
    currencies: frozenset[str] = Field(min_length=1)
    max_receive_count: int = Field(ge=1)
    records_in_flight: int = Field(1, ge=1, le=10)
    stripe_timeout_seconds: float = Field(6.0, gt=0)
    #: Only the local runtime and tests set this, to point the SDK at the Stripe emulator.
    stripe_api_base: str | None = None

    @field_validator("currencies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(split_codes(value))
        return value

    @property
    def limits(self) -> ChargeLimits:
        return ChargeLimits(max_amount=self.max_amount, currencies=self.currencies)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> FunctionConfig:
        """Read the variables named like the fields, upper-cased."""
        environ = os.environ if environ is None else environ
        values = {
            name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ
        }
        return cls.model_validate(values)
