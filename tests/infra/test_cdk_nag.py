"""cdk-nag's AwsSolutions pack: every finding is fixed or acknowledged with a reason."""

from __future__ import annotations

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from infra import ChargeQueueStack


def findings(stack: ChargeQueueStack) -> list[str]:
    report = AwsSolutionsChecks(stack.node.root).validate_scope(stack)
    return [
        f"{violation.rule_name} at {resource.construct_path}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def test_cdk_nag_reports_no_unacknowledged_findings(stack: ChargeQueueStack) -> None:
    assert findings(stack) == []


def test_cdk_nag_reports_no_unacknowledged_findings_with_imported_secret(
    configured_stack: ChargeQueueStack,
) -> None:
    assert findings(configured_stack) == []


def test_acknowledgements_are_the_expected_few(stack: ChargeQueueStack) -> None:
    # An acknowledgement is a decision: a new one should be reviewed, not slip in.
    acknowledged = {
        (construct.node.path, rule.removeprefix("Annotation::"), bool(reason.strip()))
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    }
    assert acknowledged == {
        ("chargeq-dev/StripeSecret/Secret", "AwsSolutions-SMG4", True),
        ("chargeq-dev/Charge/Role/DefaultPolicy", "AwsSolutions-IAM5[Resource::*]", True),
        ("chargeq-dev/Charge/Function", "AwsSolutions-L1", True),
        # Issue 15: the outcome functions share the charge function's runtime, the stream
        # event sources' dynamodb:ListStreams has no resource, the webhook signing secret
        # is rolled in Stripe, and the stream-failure queue is itself a dead-letter queue.
        # The pending check and the outcome log add none of their own.
        ("chargeq-dev/Outcomes/WebhookSecret", "AwsSolutions-SMG4", True),
        ("chargeq-dev/Outcomes/StreamFailures", "AwsSolutions-SQS3", True),
        *{
            (f"chargeq-dev/Outcomes/{name}/Function", "AwsSolutions-L1", True)
            for name in ("LedgerWriter", "OutcomePublisher", "StripeWebhooks", "PendingCheck")
        },
        *{
            (
                f"chargeq-dev/Outcomes/{name}/Role/DefaultPolicy",
                "AwsSolutions-IAM5[Resource::*]",
                True,
            )
            for name in ("LedgerWriter", "OutcomePublisher")
        },
    }
