"""The charge request message contract, version 1.

One pydantic model serves the handler, the producer client (``chargeq.producer``) and
producers in other languages through the published JSON Schema
(``schema/charge-request.v1.json``, kept in step with this model by a test).

The structural rules live in the model; the limits an operator configures (largest amount,
allowed currencies) are checked by ``ChargeLimits`` after parsing, so the published schema
stays the same for every deployment.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
)

from charges.outcomes import PoisonMessage, Reason

CONTRACT_VERSION = 1

# Stripe's own limits (PaymentIntent amount has at most 8 digits; metadata up to 50 keys,
# key names up to 40 characters without square brackets, values up to 500 characters).
STRIPE_MAX_AMOUNT = 99_999_999
METADATA_MAX_KEYS = 50

# Patterns end in ``$(?!\n)``: in Python's ``re`` (the model's engine, and the one most
# Python JSON Schema validators use) a bare ``$`` also matches before a trailing newline,
# which ECMA-262 (JSON Schema's regex dialect) does not; the lookahead makes every engine
# read the pattern the same way.
END = r"$(?!\n)"

RequestId = Annotated[
    StrictStr, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-:.]+" + END)
]
MetadataKey = Annotated[StrictStr, Field(min_length=1, max_length=40, pattern=r"^[^\[\]]+$")]
MetadataValue = Annotated[StrictStr, Field(max_length=500)]
_LONG_DIGIT_RUN = re.compile(r"\d{12,}")

#: A currency as Stripe names it: a lower-case ISO 4217 code.
CURRENCY_PATTERN = r"^[a-z]{3}" + END


def _whole_number(value: object) -> object:
    """JSON Schema's ``integer``: any number with a zero fractional part (``1500.0``
    included, per JSON Schema 2020-12 validation, section 6.1.1), never a boolean or string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

#: The metadata object as JSON Schema states it: pydantic would publish the key rules as
#: ``patternProperties``, which lets keys that break them through. A property test holds
#: this and the model to the same documents.
_METADATA_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "maxProperties": 49,
            "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": r"^[^\[\]]+$"},
            "additionalProperties": {"type": "string", "maxLength": 500},
            "not": {"required": ["request_id"]},
        },
        {"type": "null"},
    ],
    "default": None,
}


def split_codes(value: str) -> list[str]:
    """``"usd, eur"`` as ``["usd", "eur"]``: how a list of currencies travels as one string
    (an environment variable, a ``cdk -c`` option)."""
    return [code.strip() for code in value.split(",") if code.strip()]


class ChargeRequest(BaseModel):
    """One charge a producer asks for. ``request_id`` is the idempotency key end to end."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        regex_engine="python-re",  # for the ``(?!\n)`` lookahead of END
        title="ChargeRequest",
        json_schema_extra={"$id": "urn:chargeq:charge-request:v1"},
    )

    version: Annotated[Literal[1], BeforeValidator(_whole_number)] = Field(
        description="Contract version; always 1."
    )
    request_id: RequestId = Field(
        description="The producer's unique ID for this charge: 1-200 characters of letters, "
        "digits and _-:. It deduplicates the charge end to end; never reuse it for another "
        "charge."
    )
    customer: StrictStr = Field(
        pattern=r"^cus_[A-Za-z0-9_]+" + END, max_length=255, description="Stripe customer ID."
    )
    amount: WholeNumber = Field(
        ge=1,
        le=STRIPE_MAX_AMOUNT,
        description="Amount in the currency's minor unit (cents for usd). The deployment "
        "sets a lower maximum (default 1,000,000).",
    )
    currency: StrictStr = Field(
        pattern=CURRENCY_PATTERN,
        description="Lower-case ISO 4217 code from the deployment's allow-list (default usd).",
    )
    payment_method: StrictStr | None = Field(
        None,
        pattern=r"^pm_[A-Za-z0-9_]+" + END,
        max_length=255,
        description="Stripe PaymentMethod ID. When absent, the customer's "
        "invoice_settings.default_payment_method is charged, else its default_source; a "
        "customer with neither is dead-lettered with reason no_payment_method, uncharged.",
    )
    description: StrictStr | None = Field(None, max_length=1000)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        None,
        max_length=METADATA_MAX_KEYS - 1,  # one key is reserved for request_id
        description="Copied to the PaymentIntent's metadata; the key request_id is reserved.",
        json_schema_extra=_METADATA_SCHEMA,
    )

    @field_validator("metadata")
    @classmethod
    def _request_id_key_is_reserved(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value and "request_id" in value:
            raise ValueError("metadata key 'request_id' is reserved")
        return value


class ChargeLimits(BaseModel):
    """The deployment's limits on top of the contract (from ``PipelineSettings``)."""

    model_config = ConfigDict(frozen=True)

    max_amount: int = 1_000_000
    currencies: frozenset[str] = frozenset({"usd"})

    def check(self, request: ChargeRequest) -> None:
        """Raise ``PoisonMessage`` when the request is outside the limits."""
        if request.amount > self.max_amount:
            raise PoisonMessage(
                Reason.LIMIT_EXCEEDED,
                f"amount {request.amount} is above the maximum {self.max_amount}",
            )
        if request.currency not in self.currencies:
            allowed = ", ".join(sorted(self.currencies))
            raise PoisonMessage(
                Reason.LIMIT_EXCEEDED,
                f"currency {request.currency!r} is not accepted (allowed: {allowed})",
            )


def parse_charge_request(body: str, limits: ChargeLimits) -> ChargeRequest:
    """Parse an SQS message body into a ``ChargeRequest`` within ``limits``.

    Raises ``PoisonMessage`` with reason ``invalid_json``, ``missing_request_id``,
    ``contract_violation`` or ``limit_exceeded``. The detail names the fields and rules
    that failed, never their values, so card-like input cannot leak into logs or the DLQ.
    """
    try:
        document = json.loads(body)
    except (ValueError, TypeError) as error:
        raise PoisonMessage(
            Reason.INVALID_JSON, f"body is not JSON: {type(error).__name__}"
        ) from None
    if not isinstance(document, dict):
        raise PoisonMessage(
            Reason.CONTRACT_VIOLATION, f"body is JSON {type(document).__name__}, not an object"
        )
    if "request_id" not in document:
        raise PoisonMessage(Reason.MISSING_REQUEST_ID, "request_id is required")
    try:
        request = ChargeRequest.model_validate(document)
    except (ValidationError, ValueError) as error:
        raise PoisonMessage(Reason.CONTRACT_VIOLATION, describe_errors(error)) from None
    limits.check(request)
    return request


def describe_errors(error: Exception) -> str:
    """Field names and rule messages of a validation error, without the offending values."""
    if not isinstance(error, ValidationError):
        return type(error).__name__
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    # Field names come from the sender and could themselves be card numbers.
    return _LONG_DIGIT_RUN.sub("[redacted]", "; ".join(parts))[:1000]


def json_schema() -> dict[str, Any]:
    """The contract as JSON Schema (draft 2020-12), for producers in other languages."""
    schema = ChargeRequest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
