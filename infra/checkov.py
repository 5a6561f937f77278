"""checkov findings acknowledged on a resource of the template, each with its reason.

checkov reads ``Metadata.checkov.skip`` of a CloudFormation resource
(www.checkov.io, "Suppressing/Skipping"); every skip in the stack goes through here so
each carries its written reason.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_checks(construct: IConstruct, *skips: tuple[str, str]) -> None:
    """Skip each ``(check_id, reason)`` on the construct's CloudFormation resource."""
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource), "no CloudFormation resource to annotate"
    resource.add_metadata(
        "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in skips]}
    )
