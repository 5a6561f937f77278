"""The Secrets Manager secret holding the Stripe API key: imported by name, or created empty.

The stack never sees the key. A created secret starts with a random placeholder; the
operator writes the real key after the first deploy (docs/runbook.md#stripe-api-key). The
function gets only the secret's name in its environment and reads the value at run time.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from chargeq.settings import PipelineSettings


class StripeSecret(Construct):
    """``settings.stripe_secret_name`` when set, else a new ``settings.default_secret_name``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        #: A plain string (not a token), so the environment shows the name and nothing else.
        self.secret_name = settings.secret_name
        self.secret: secretsmanager.ISecret
        if settings.stripe_secret_name:
            self.secret = secretsmanager.Secret.from_secret_name_v2(
                self, "Imported", settings.stripe_secret_name
            )
            return
        created = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=settings.default_secret_name,
            description=(
                f"Stripe secret API key for {settings.resource_prefix}. Created with a random "
                "placeholder: put the real key with `aws secretsmanager put-secret-value`."
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
            # The pipeline's key rather than aws/secretsmanager: reading the Stripe key is a
            # decrypt in CloudTrail, and the key policy alone can cut the pipeline off.
            encryption_key=key,
        )
        Validations.of(created).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Stripe API keys are rolled in the Stripe dashboard, which Secrets "
                "Manager cannot do; the operator writes the new key here (runbook: "
                "stripe-api-key).",
            )
        )
        self.secret = created

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """GetSecretValue and DescribeSecret on this secret only."""
        return self.secret.grant_read(grantee)
