"""The outcome bus as a producer subscribes to it: moto's EventBridge, one rule, two targets.

The stack's bus (``settings.event_bus_name``) with a rule matching ``source: chargeq``
(every outcome event, ``ledger.events.EVENT_SOURCE``) and two targets, as the README shows a
producer subscribing:

- an SQS queue standing for a producer's subscription (the run's report reads it);
- the log group ``settings.outcome_log_group_name`` (``chargeq outcomes`` reads it with
  ``FilterLogEvents``).

EventBridge delivers to an SQS target the event envelope as the message body
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html) and to a log group
target one log event per event
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html, "CloudWatch
Logs permissions"); moto 5.2 delivers to both.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from chargeq.settings import PipelineSettings
from ledger.events import EVENT_SOURCE

#: The rule's name: every outcome event, as a producer's rule would match them.
RULE_NAME = "all-outcomes"
#: The local account and region moto answers for (any credentials).
LOCAL_ACCOUNT = "123456789012"


def subscription_queue_name(settings: PipelineSettings) -> str:
    """The queue standing for a producer's subscription to the bus."""
    return f"{settings.resource_prefix}-outcomes-subscription"


def provision_bus(events: Any, sqs: Any, logs: Any, settings: PipelineSettings, region: str) -> str:
    """Create (or find) the bus, its rule and both targets; returns the queue's URL."""
    bus = settings.event_bus_name
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=subscription_queue_name(settings))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    group = settings.outcome_log_group_name
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    events.put_rule(
        Name=RULE_NAME,
        EventBusName=bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule=RULE_NAME,
        EventBusName=bus,
        Targets=[
            {"Id": "subscription", "Arn": queue_arn},
            {"Id": "log-group", "Arn": f"arn:aws:logs:{region}:{LOCAL_ACCOUNT}:log-group:{group}"},
        ],
    )
    return str(queue_url)
