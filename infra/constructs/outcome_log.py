"""Every outcome event, delivered by a rule on the bus to an encrypted log group.

``chargeq outcomes`` reads it (FilterLogEvents), so on-call and producers can follow the
events of a deployed stack without a consumer of their own; it is also the place to look
when a producer says it missed one.

The rule's target is CDK's ``CloudWatchLogGroup``, whose delivery needs a CloudWatch Logs
resource policy letting EventBridge write to the log group. The target would make that
policy with a custom resource (an ``AwsCustomResource``: a Node.js function whose role may
call ``logs:PutResourcePolicy`` on every resource), unless the log group already has a
child of the ID it looks for; so this construct makes that child first as a native
``AWS::Logs::ResourcePolicy`` (no function, no wildcard; tests/infra checks that no
custom resource appears).
"""

from __future__ import annotations

from aws_cdk import Names
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from chargeq.settings import PipelineSettings
from infra.constructs.pipeline_function import encrypted_log_group
from ledger.events import EVENT_SOURCE

#: Who writes a rule's events into a log group, as EventBridge documents its resource
#: policy (docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html,
#: "CloudWatch Logs permissions").
DELIVERY_PRINCIPALS = ("events.amazonaws.com", "delivery.logs.amazonaws.com")


class OutcomeLog(Construct):
    """The log group ``settings.outcome_log_group_name`` and the rule feeding it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        bus: events.IEventBus,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # Outcome events name customers and amounts: under the pipeline's key. Kept a
        # month like the functions' logs (the ledger is the lasting record; the bus's
        # archive replays events to a consumer).
        self.log_group = encrypted_log_group(
            self,
            key,
            settings.outcome_log_group_name,
            sid="AllowCloudWatchLogsForTheOutcomeLog",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            rule_name=f"{settings.resource_prefix}-outcomes-to-log",
            description="Every outcome event, to the log group chargeq outcomes reads",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
        )
        # Made before the target binds, under the ID the target looks for (see above).
        logs.ResourcePolicy(
            self.log_group,
            f"EventsLogGroupPolicy{Names.node_unique_id(self.rule.node)}",
            resource_policy_name=f"{settings.resource_prefix}-outcome-events-to-log",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(name) for name in DELIVERY_PRINCIPALS],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.log_group.log_group_arn}"],
                )
            ],
        )
        self.rule.add_target(targets.CloudWatchLogGroup(self.log_group))
