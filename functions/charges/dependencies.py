"""The function's collaborators, built once per container and passed in explicitly.

Nothing here runs at import: the handler calls ``get_dependencies()`` on its first
invocation. ``Dependencies.build`` makes the real ones (AWS clients from a boto3 session,
the Stripe gateway for the key in Secrets Manager); ``Dependencies.of`` takes collaborators
made elsewhere, so unit tests run the record logic on in-memory fakes with no client and no
server.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from charges.claims import ChargeOnce, idempotency_config, make_charge_once, persistence_layer
from charges.config import FunctionConfig
from charges.dead_letter_ledger import LedgeredDeadLetters
from charges.dead_letters import DeadLetterQueue
from charges.observability import record_stripe_latency
from charges.outcomes import DeadLetters
from charges.payments import PaymentGateway, StripeGateway
from charges.rate_limits import StripePacer
from ledger.store import LedgerTable

#: How long the Stripe key is cached before Secrets Manager is asked again (rotation).
SECRET_MAX_AGE_SECONDS = 300

# Fail fast inside the function timeout rather than waiting on botocore's defaults.
_AWS_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
)

#: Wraps each payment gateway the function builds (see ``TestSeam``).
GatewayWrapper = Callable[[PaymentGateway], PaymentGateway]


@dataclass
class Dependencies:
    """Everything a record needs: settings, the idempotent charge and the DLQ.

    ``gateway`` answers the payment gateway to charge through now (a new one after the
    Stripe key rotates). ``record_threads`` charges the records of a batch concurrently
    (None: one at a time). It lives as long as the container, and so do its threads and the
    Stripe SDK's HTTP session in each of them: a warm batch reuses open connections to
    Stripe instead of paying a TCP and TLS handshake per record.
    """

    config: FunctionConfig
    idempotency: IdempotencyConfig
    dead_letters: DeadLetters
    persistence: BasePersistenceLayer
    gateway: Callable[[], PaymentGateway]
    record_threads: ThreadPoolExecutor | None
    _charge_once: ChargeOnce | None = None
    _charging_through: PaymentGateway | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(
        cls,
        config: FunctionConfig,
        *,
        gateway: Callable[[], PaymentGateway],
        persistence: BasePersistenceLayer,
        dead_letters: DeadLetters,
    ) -> Dependencies:
        """The function's dependencies over the given collaborators (tests' fakes, or the
        real ones from ``build``); idempotency settings and record threads from ``config``."""
        return cls(
            config=config,
            idempotency=idempotency_config(config.idempotency_expiry_seconds),
            dead_letters=dead_letters,
            persistence=persistence,
            gateway=gateway,
            record_threads=(
                ThreadPoolExecutor(config.records_in_flight, thread_name_prefix="record")
                if config.records_in_flight > 1
                else None
            ),
        )

    @classmethod
    def build(
        cls,
        config: FunctionConfig,
        session: boto3.Session | None = None,
        *,
        wrap_gateway: GatewayWrapper | None = None,
    ) -> Dependencies:
        """The real dependencies: DynamoDB, SQS and Secrets Manager clients from ``session``
        (a default one unless given), and Stripe at ``config.stripe_api_base``."""
        session = session or boto3.Session()
        secrets = SecretsProvider(
            boto3_client=session.client("secretsmanager", config=_AWS_CLIENT_CONFIG)
        )
        return cls.of(
            config,
            gateway=StripeGateways(
                config,
                secrets,
                # One per container, shared by its record threads and every gateway it
                # builds: the container's share of Stripe's rate limits.
                StripePacer(
                    config.stripe_requests_per_second, config.stripe_endpoint_requests_per_second
                ),
                wrap=wrap_gateway,
            ),
            persistence=persistence_layer(
                config.idempotency_table_name,
                session.client("dynamodb", config=_AWS_CLIENT_CONFIG),
            ),
            dead_letters=LedgeredDeadLetters(
                DeadLetterQueue(session.client("sqs", config=_AWS_CLIENT_CONFIG), config.dlq_url),
                LedgerTable(
                    session.client("dynamodb", config=_AWS_CLIENT_CONFIG), config.ledger_table_name
                ),
            ),
        )

    def charge_once(self) -> ChargeOnce:
        """The idempotent charge, rebuilt only when the gateway changes (a new Stripe key)."""
        # Under the lock so the records of a first batch, charged concurrently, fetch the
        # secret once between them instead of each missing the cache at the same moment.
        with self._lock:
            gateway = self.gateway()
            if self._charge_once is None or gateway is not self._charging_through:
                self._charge_once = make_charge_once(gateway, self.persistence, self.idempotency)
                self._charging_through = gateway
            return self._charge_once


class StripeGateways:
    """The Stripe gateway for the key the secret holds now; a new gateway when it changes.

    ``wrap`` (a test seam, see ``TestSeam``) wraps each gateway built.
    """

    def __init__(
        self,
        config: FunctionConfig,
        secrets: SecretsProvider,
        pacer: StripePacer,
        *,
        wrap: GatewayWrapper | None,
    ) -> None:
        self._config = config
        self._secrets = secrets
        self.pacer = pacer
        self._wrap = wrap
        self._api_key: str | None = None
        self._gateway: PaymentGateway | None = None

    def __call__(self) -> PaymentGateway:
        api_key = _api_key_from(
            self._secrets.get(self._config.stripe_secret_name, max_age=SECRET_MAX_AGE_SECONDS)
        )
        if self._gateway is None or api_key != self._api_key:
            gateway: PaymentGateway = StripeGateway(
                api_key,
                api_base=self._config.stripe_api_base,
                timeout_seconds=self._config.stripe_timeout_seconds,
                soft_decline_attempts=self._config.soft_decline_attempts,
                pacer=self.pacer,
                on_latency=record_stripe_latency,
            )
            self._gateway = self._wrap(gateway) if self._wrap else gateway
            self._api_key = api_key
        return self._gateway


def _api_key_from(secret: Any) -> str:
    """The secret holds the key itself, or a JSON object with an ``api_key`` field."""
    value = secret.decode() if isinstance(secret, bytes) else str(secret)
    if value.lstrip().startswith("{"):
        value = json.loads(value)["api_key"]
    return value.strip()


@dataclass(frozen=True)
class TestSeam:
    """A test seam: what a test process may change in the function without patching it.

    Never set in Lambda. The local runtime's worker-setup hook (``chargeq_local.workers``)
    lets a fault plan install one before the first invocation:

    - ``session``: the boto3 session the function's AWS clients are built from. Hooks on its
      botocore event system (``session.events.register("before-call.dynamodb.PutItem",
      ...)``) see every call and may answer it as the service would, a throttling error
      for instance; clients copy the session's hooks when they are built.
    - ``wrap_gateway``: wraps each payment gateway the function builds.
    """

    __test__ = False  # not a pytest test class, despite the name

    session: boto3.Session | None = None
    wrap_gateway: GatewayWrapper | None = None


_test_seam = TestSeam()


def install_test_seam(seam: TestSeam) -> None:
    """Build the container's dependencies through ``seam`` from now on (a test seam)."""
    global _test_seam
    _test_seam = seam
    get_dependencies.cache_clear()


@functools.cache
def get_dependencies() -> Dependencies:
    """The container's dependencies, built on first use from the environment."""
    return Dependencies.build(
        FunctionConfig.from_environment(),
        _test_seam.session,
        wrap_gateway=_test_seam.wrap_gateway,
    )
