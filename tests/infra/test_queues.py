"""The queue and its DLQ: redrive, retention, visibility timeout, encryption, TLS."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from chargeq.settings import PipelineSettings
from tests.infra.policies import arn_of, logical_id


def queue_properties(template: Template, name: str) -> dict:
    (queue,) = [
        resource["Properties"]
        for resource in template.find_resources("AWS::SQS::Queue").values()
        if resource["Properties"]["QueueName"] == name
    ]
    return queue


def test_queue_redrives_to_dlq_after_max_receive_count(
    template: Template, settings: PipelineSettings
) -> None:
    # GIVEN the default settings WHEN synthesized THEN the queue's redrive ends in the DLQ
    dlq = logical_id(template, "AWS::SQS::Queue", QueueName=settings.dlq_name)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": settings.queue_name,
            "RedrivePolicy": {
                "deadLetterTargetArn": arn_of(dlq),
                "maxReceiveCount": settings.max_receive_count,
            },
        },
    )
    assert settings.max_receive_count == 5


def test_dlq_retention_is_longer_than_queue_retention(
    template: Template, settings: PipelineSettings
) -> None:
    queue = queue_properties(template, settings.queue_name)
    dlq = queue_properties(template, settings.dlq_name)
    assert queue["MessageRetentionPeriod"] == settings.queue_retention_seconds
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_visibility_timeout_is_six_times_function_timeout_plus_the_batching_window(
    template: Template, settings: PipelineSettings
) -> None:
    # AWS guidance (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)
    queue = queue_properties(template, settings.queue_name)
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Timeout": settings.function_timeout_seconds}
    )
    assert queue["VisibilityTimeout"] == (
        6 * settings.function_timeout_seconds + settings.max_batching_window_seconds
    )


def test_queues_are_encrypted_with_the_rotating_pipeline_key(
    template: Template, settings: PipelineSettings
) -> None:
    (key,) = template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    for name in (settings.queue_name, settings.dlq_name):
        assert queue_properties(template, name)["KmsMasterKeyId"] == arn_of(key)


def test_queues_enforce_ssl(template: Template, settings: PipelineSettings) -> None:
    for name in (settings.queue_name, settings.dlq_name):
        queue = logical_id(template, "AWS::SQS::Queue", QueueName=name)
        template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )
