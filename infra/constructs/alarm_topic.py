"""The SNS topic on-call subscribes to: encrypted, TLS-only, open to this stage's alarms."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from chargeq.settings import PipelineSettings

CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


class AlarmTopic(Construct):
    """The alarms' notification target, with an email subscription when one is configured."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: PipelineSettings, key: kms.Key
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{settings.resource_prefix}-alarms",
            display_name=f"{settings.resource_prefix} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # CloudWatch encrypts the notification itself, so the key must let it (the reason
        # this topic cannot use the AWS-managed aws/sns key).
        key.grant(CLOUDWATCH, "kms:Decrypt", "kms:GenerateDataKey*")
        # enforce_ssl gives the topic a policy, which replaces SNS's default one: say again
        # that this account's alarms, and only this stage's, may publish.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStagesAlarms",
                principals=[CLOUDWATCH],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{settings.resource_prefix}-*",
                            # arn:aws:cloudwatch:region:account:alarm:name
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
