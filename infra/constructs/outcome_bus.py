"""The event bus outcome events are published on, and its archive for replay."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from chargeq.settings import PipelineSettings
from ledger.events import EVENT_SOURCE


class OutcomeBus(Construct):
    """A custom bus (``settings.event_bus_name``) and an archive of every outcome event."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: PipelineSettings):
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=settings.event_bus_name,
            description=f"{settings.resource_prefix}: charge.<state> outcome events",
        )
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"{settings.resource_prefix}-outcomes",
            description="Every outcome event, for replay to a consumer that lost some",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(settings.outcome_archive_days),
        )

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """events:PutEvents on this bus only."""
        return self.bus.grant_put_events_to(grantee)
