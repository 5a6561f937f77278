"""The CDK app: read the settings from context, build the stack, check it with cdk-nag.

``cdk synth`` runs this with the context from cdk.json and ``-c chargeq:<field>=<value>``.
A bad setting stops synth with the settings' own message and a non-zero exit status. An
unacknowledged cdk-nag finding stops it with CDK's validation report; otherwise the app
says, on standard error, that cdk-nag ran and which findings are acknowledged.
"""

from __future__ import annotations

import sys

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from chargeq.settings import PipelineSettings, SettingsError
from infra import ChargeQueueStack


def build(app: App) -> ChargeQueueStack:
    """Add the stack described by the app's context, and the AwsSolutions checks."""
    settings = PipelineSettings.from_context(app.node.get_all_context())
    stack = ChargeQueueStack(app, settings=settings)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def acknowledged_rules(stack: ChargeQueueStack) -> list[str]:
    """Every cdk-nag rule acknowledged in the stack (each carries its reason), sorted."""
    return sorted(
        rule.removeprefix("Annotation::")
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    )


def main() -> int:
    app = App()
    try:
        stack = build(app)
    except SettingsError as error:
        print(f"cdk synth stopped: {error}", file=sys.stderr)
        return 1
    app.synth()  # runs cdk-nag; an unacknowledged finding fails here with CDK's report
    acknowledged = acknowledged_rules(stack)
    print(
        f"cdk-nag AwsSolutions on {stack.stack_name}: no unacknowledged findings; "
        f"{len(acknowledged)} acknowledged with a reason ({', '.join(acknowledged)})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
