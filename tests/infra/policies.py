"""Read IAM statements out of a synthesized template, for the least-privilege tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk.assertions import Template


@dataclass(frozen=True)
class Statement:
    """One Allow/Deny statement of an AWS::IAM::Policy, with the role logical IDs it is on."""

    roles: tuple[str, ...]
    effect: str
    actions: tuple[str, ...]
    resources: tuple[Any, ...]


def as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def statements(template: Template) -> list[Statement]:
    """Every statement of every identity policy in the template."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        properties = policy["Properties"]
        roles = tuple(role["Ref"] for role in properties.get("Roles", []))
        for statement in properties["PolicyDocument"]["Statement"]:
            found.append(
                Statement(
                    roles=roles,
                    effect=statement["Effect"],
                    actions=as_tuple(statement["Action"]),
                    resources=as_tuple(statement["Resource"]),
                )
            )
    return found


def logical_id(template: Template, resource_type: str, **properties: Any) -> str:
    """The one resource of ``resource_type`` whose properties include ``properties``."""
    matches = [
        name
        for name, resource in template.find_resources(resource_type).items()
        if all(resource["Properties"].get(key) == value for key, value in properties.items())
    ]
    assert len(matches) == 1, f"{resource_type} {properties}: {matches}"
    return matches[0]


def charge_function(template: Template) -> dict[str, Any]:
    """The charge function's resource (named ``chargeq-<stage>-charge``)."""
    (function,) = [
        function
        for function in template.find_resources("AWS::Lambda::Function").values()
        if str(function["Properties"].get("FunctionName", "")).endswith("-charge")
    ]
    return dict(function)


def role_of_function(template: Template) -> str:
    return str(charge_function(template)["Properties"]["Role"]["Fn::GetAtt"][0])


def actions_on(template: Template, role: str, resource: Any) -> set[str]:
    """Every action ``role`` is allowed on ``resource`` (a logical-ID reference)."""
    return {
        action
        for statement in statements(template)
        if role in statement.roles and statement.effect == "Allow"
        for action in statement.actions
        if resource in statement.resources
    }


def arn_of(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}
