"""The function's collaborators, built once per container and passed in explicitly.

Nothing here runs at import: the handler calls ``get_dependencies()`` on its first
invocation, and tests or the local runtime call ``Dependencies.build`` with their own
environment (moto's endpoint, the Stripe emulator) instead.
"""

from __future__ import annotations

import functools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from charges.claims import ChargeOnce, idempotency_config, make_charge_once, persistence_layer
from charges.config import FunctionConfig
from charges.dead_letters import DeadLetterQueue
from charges.observability import record_stripe_latency
from charges.payments import StripeGateway

#: How long the Stripe key is cached before Secrets Manager is asked again (rotation).
SECRET_MAX_AGE_SECONDS = 300

# Fail fast inside the function timeout rather than waiting on botocore's defaults.
_AWS_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
)


@dataclass
class Dependencies:
    """Everything a record needs: settings, the idempotent charge and the DLQ.

    ``record_threads`` charges the records of a batch concurrently (None: one at a time).
    It lives as long as the container, and so do its threads and the Stripe SDK's HTTP
    session in each of them: a warm batch reuses open connections to Stripe instead of
    paying a TCP and TLS handshake per record.
    """

    config: FunctionConfig
    idempotency: IdempotencyConfig
    dead_letters: DeadLetterQueue
    record_threads: ThreadPoolExecutor | None
    _persistence: DynamoDBPersistenceLayer
    _secrets: SecretsProvider
    _charge_once: ChargeOnce | None = None
    _api_key: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: FunctionConfig, session: boto3.Session | None = None) -> Dependencies:
        session = session or boto3.Session()
        return cls(
            config=config,
            idempotency=idempotency_config(config.idempotency_expiry_seconds),
            dead_letters=DeadLetterQueue(
                session.client("sqs", config=_AWS_CLIENT_CONFIG), config.dlq_url
            ),
            record_threads=(
                ThreadPoolExecutor(config.records_in_flight, thread_name_prefix="record")
                if config.records_in_flight > 1
                else None
            ),
            _persistence=persistence_layer(
                config.idempotency_table_name,
                session.client("dynamodb", config=_AWS_CLIENT_CONFIG),
            ),
            _secrets=SecretsProvider(
                boto3_client=session.client("secretsmanager", config=_AWS_CLIENT_CONFIG)
            ),
        )

    def charge_once(self) -> ChargeOnce:
        """The idempotent charge, rebuilt only when the Stripe key in the secret changes."""
        # Under the lock so the records of a first batch, charged concurrently, fetch the
        # secret once between them instead of each missing the cache at the same moment.
        with self._lock:
            api_key = _api_key_from(
                self._secrets.get(self.config.stripe_secret_name, max_age=SECRET_MAX_AGE_SECONDS)
            )
            if self._charge_once is None or api_key != self._api_key:
                gateway = StripeGateway(
                    api_key,
                    api_base=self.config.stripe_api_base,
                    timeout_seconds=self.config.stripe_timeout_seconds,
                    on_latency=record_stripe_latency,
                )
                self._charge_once = make_charge_once(gateway, self._persistence, self.idempotency)
                self._api_key = api_key
            return self._charge_once


def _api_key_from(secret: Any) -> str:
    """The secret holds the key itself, or a JSON object with an ``api_key`` field."""
    value = secret.decode() if isinstance(secret, bytes) else str(secret)
    if value.lstrip().startswith("{"):
        value = json.loads(value)["api_key"]
    return value.strip()


@functools.cache
def get_dependencies() -> Dependencies:
    """The container's dependencies, built on first use from the environment."""
    return Dependencies.build(FunctionConfig.from_environment())
