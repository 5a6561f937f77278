"""The CDK app: read the settings from context, build the stack, check it with cdk-nag.

``cdk synth`` runs this with the context from cdk.json and ``-c chargeq:<field>=<value>``.
A bad setting stops synth with the settings' own message and a non-zero exit status.
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


def main() -> int:
    app = App()
    try:
        build(app)
    except SettingsError as error:
        print(f"cdk synth stopped: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
