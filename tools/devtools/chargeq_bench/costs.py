"""The cost model: AWS cost per million charges, from what the benchmark measured.

Per-charge quantities come from the benchmark (billed duration, invocations, DynamoDB
requests, log bytes, throughput); prices are AWS list prices and the few quantities the
local pipeline cannot observe (KMS data-key reuse, X-Ray sampling, Lambda's own log lines)
are stated assumptions. Free tiers and fixed monthly costs (the KMS key, the secret,
alarms, dashboard, custom metrics) are left out: they do not grow with the charge count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chargeq.settings import RECORD_LIFETIME_DAYS

MILLION = 1_000_000

#: us-east-1 on-demand list prices in USD (AWS pricing pages, 2025), no free tier.
LAMBDA_ARM_GB_SECOND = 0.0000133334  # the function runs on arm64 (infra ARCHITECTURE)
LAMBDA_PER_REQUEST = 0.20 / MILLION
SQS_PER_REQUEST = 0.40 / MILLION  # standard queue, per 64 KB chunk
DYNAMODB_PER_WRITE_UNIT = 0.625 / MILLION  # on-demand, standard table class
DYNAMODB_PER_READ_UNIT = 0.125 / MILLION
KMS_PER_REQUEST = 0.03 / 10_000
LOGS_PER_GB_INGESTED = 0.50
XRAY_PER_TRACE = 5.00 / MILLION
SECRETS_PER_CALL = 0.05 / 10_000

#: Assumptions about what happens in AWS but not locally.
PRODUCER_BATCH = 10  # the producer client sends SendMessageBatch of ten
SQS_MAX_MESSAGES = 10  # the most a ReceiveMessage or a DeleteMessageBatch takes
KMS_DATA_KEY_REUSE_SECONDS = 300  # SQS's default; DynamoDB caches its table key similarly
PLATFORM_LOG_BYTES_PER_INVOCATION = 400  # Lambda's START, END and REPORT lines
XRAY_RESERVOIR_PER_SECOND = 1.0  # the default sampling rule: one a second, then 5 %
XRAY_FIXED_RATE = 0.05
SECRET_MAX_AGE_SECONDS = 300  # the function re-reads the Stripe key every five minutes

#: DynamoDB operations by the capacity they consume (items under 1 KB: one unit each;
#: a conditional write that fails still consumes its write unit).
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
READ_OPERATIONS = frozenset({"GetItem", "Query"})


@dataclass(frozen=True)
class Usage:
    """What one handler consumed per charge in the benchmark."""

    billed_ms_per_charge: float
    invocations_per_charge: float
    dynamodb_writes_per_charge: float
    dynamodb_reads_per_charge: float
    log_bytes_per_charge: float
    #: Charges per second with the event source's concurrency: sets how long a million
    #: charges keep the pipeline busy, which time-based costs (KMS, X-Ray, secret) follow.
    charges_per_second: float
    memory_mb: int
    concurrency: int


@dataclass(frozen=True)
class CostLine:
    """One row of the cost table: a service, how it is counted, dollars per million."""

    item: str
    basis: str
    dollars: float


def cost_per_million(usage: Usage) -> list[CostLine]:
    """Dollars per million charges, by service."""
    invocations = usage.invocations_per_charge * MILLION
    busy_seconds = MILLION / usage.charges_per_second
    data_key_periods = busy_seconds / KMS_DATA_KEY_REUSE_SECONDS
    gb_seconds = usage.billed_ms_per_charge / 1000 * usage.memory_mb / 1024 * MILLION
    # A receive and a delete batch take ten messages at most: a batch of 12 costs two each
    # (from the mean batch, rounded up: mixed batch sizes are counted approximately).
    calls_per_invocation = 2 * math.ceil(1 / usage.invocations_per_charge / SQS_MAX_MESSAGES)
    sqs_requests = (
        1 / PRODUCER_BATCH + calls_per_invocation * usage.invocations_per_charge
    ) * MILLION
    # One producer's GenerateDataKey, and a Decrypt for SQS and one for DynamoDB per
    # concurrent container, each per data-key period.
    kms_requests = data_key_periods * (1 + 2 * usage.concurrency)
    log_gb = (
        usage.log_bytes_per_charge * MILLION + PLATFORM_LOG_BYTES_PER_INVOCATION * invocations
    ) / 1e9
    invocation_rate = invocations / busy_seconds
    sampled_rate = min(
        invocation_rate,
        XRAY_RESERVOIR_PER_SECOND
        + XRAY_FIXED_RATE * max(0.0, invocation_rate - XRAY_RESERVOIR_PER_SECOND),
    )
    traces = sampled_rate * busy_seconds
    secret_calls = usage.concurrency * busy_seconds / SECRET_MAX_AGE_SECONDS
    return [
        CostLine(
            "Lambda compute",
            f"{gb_seconds:,.0f} GB-s ({usage.billed_ms_per_charge:.0f} ms/charge "
            f"at {usage.memory_mb} MB, arm64)",
            gb_seconds * LAMBDA_ARM_GB_SECOND,
        ),
        CostLine(
            "Lambda requests", f"{invocations:,.0f} invocations", invocations * LAMBDA_PER_REQUEST
        ),
        CostLine(
            "SQS",
            f"{sqs_requests:,.0f} requests (send batch, receive, delete batch)",
            sqs_requests * SQS_PER_REQUEST,
        ),
        CostLine(
            "DynamoDB",
            f"{usage.dynamodb_writes_per_charge * MILLION:,.0f} WRU, "
            f"{usage.dynamodb_reads_per_charge * MILLION:,.0f} RRU",
            usage.dynamodb_writes_per_charge * MILLION * DYNAMODB_PER_WRITE_UNIT
            + usage.dynamodb_reads_per_charge * MILLION * DYNAMODB_PER_READ_UNIT,
        ),
        CostLine("KMS", f"{kms_requests:,.0f} requests", kms_requests * KMS_PER_REQUEST),
        CostLine("CloudWatch Logs", f"{log_gb:.2f} GB ingested", log_gb * LOGS_PER_GB_INGESTED),
        CostLine("X-Ray", f"{traces:,.0f} traces", traces * XRAY_PER_TRACE),
        CostLine("Secrets Manager", f"{secret_calls:,.0f} calls", secret_calls * SECRETS_PER_CALL),
    ]


ASSUMPTIONS = (
    "us-east-1 on-demand list prices (2025): Lambda arm64 $0.0000133334 per GB-s and $0.20 "
    "per million requests; SQS standard $0.40 per million requests; DynamoDB on-demand "
    "$0.625 per million write and $0.125 per million read units; KMS $0.03 per 10,000 "
    "requests; CloudWatch Logs $0.50 per GB ingested; X-Ray $5 per million traces; Secrets "
    "Manager $0.05 per 10,000 calls. No free tier.",
    "Fixed monthly costs are left out: the KMS key ($1), the secret ($0.40), alarms, the "
    "dashboard, EMF custom metrics, Lambda's empty long polls of an idle queue, storage of "
    f"idempotency records (under 1 KB each, kept {RECORD_LIFETIME_DAYS // 365} years: "
    "docs/protocol.md).",
    "Each charge is delivered once (no duplicates); items are under 1 KB (one capacity "
    "unit per request); a failed conditional write still consumes its write unit.",
    "Lambda duration is the benchmark's measured invocation time (local moto and Stripe "
    "emulator, so DynamoDB is slower and Stripe as slow as set); memory is the configured "
    "size, billed in 1 ms steps; INIT time is not included.",
    "SQS: one SendMessageBatch per 10 charges from the producer; per invocation a "
    "ReceiveMessage and a DeleteMessageBatch per 10 of the measured records per invocation "
    "(rounded up).",
    "KMS: one data key per 5 minutes for the producer, and one decrypt per 5 minutes per "
    "concurrent container for SQS and for DynamoDB, over the time a million charges take at "
    "the measured throughput; X-Ray's default sampling (1 per second + 5 %); the Stripe key "
    "re-read every 5 minutes per container; 400 bytes of Lambda platform log per invocation.",
)
