"""Decode Stripe's form encoding: ``metadata[request_id]=x`` and ``created[gte]=1`` nest.

The SDK sends POST bodies as ``application/x-www-form-urlencoded`` and GET filters as a
query string, both with bracketed keys for nested objects and ``key[0]`` for arrays
(``stripe/_encode.py``). Values stay strings; the ``read_*`` functions give each endpoint
the types it expects, with Stripe's 400 when a value does not parse.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from stripe_emulator.responses import invalid_request

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"^-?\d+$")


def parse_pairs(encoded: str) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of a form body or query string, in order."""
    try:
        return parse_qsl(encoded, keep_blank_values=True, strict_parsing=False)
    except ValueError as error:
        raise invalid_request(f"Could not parse the request parameters: {error}") from error


def decode(pairs: list[tuple[str, str]]) -> Params:
    """Nest bracketed keys into dicts.

    Arrays (``a[0]=x``, ``a[]=x``) stay dicts keyed by index here: only the endpoint knows
    whether ``metadata[0]`` is an array item or a metadata key named "0" (see ``read_list``).
    """
    root: Params = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise invalid_request(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *_PART.findall(match.group(2))]
        _insert(root, path, value, key)
    return root


def _insert(node: Params, path: list[str], value: str, key: str) -> None:
    for part in path[:-1]:
        # An empty part (``a[]``) appends: it takes the next free index.
        child = node.setdefault(part or str(len(node)), {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid parameter: {key} mixes a value and a hash", param=key)
        node = child
    last = path[-1] if path[-1] else str(len(node))
    if isinstance(node.get(last), dict):
        raise invalid_request(f"Invalid parameter: {key} mixes a value and a hash", param=key)
    node[last] = value


def reject_unknown(params: Params, known: frozenset[str]) -> None:
    """400 ``parameter_unknown`` for the first parameter the endpoint does not take, as
    Stripe answers (stripe-go #1231 shows the body)."""
    for name in params:
        if name not in known:
            raise invalid_request(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def read_string(params: Params, name: str, *, required: bool = False) -> str | None:
    """A string parameter; empty counts as absent."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid_request(
                f"Missing required param: {name}.", param=name, code="parameter_missing"
            )
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {name}", param=name)
    return value


def read_integer(
    params: Params, key: str, *, required: bool = False, param: str | None = None
) -> int | None:
    """An integer parameter; ``param`` names it in errors when nested (``created[gte]``)."""
    text = read_string(params, key, required=required)
    if text is None:
        return None
    if not _INTEGER.match(text):
        raise invalid_request(f"Invalid integer: {text}", param=param or key)
    return int(text)


def read_boolean(params: Params, name: str) -> bool:
    """``true`` or ``false`` (how the SDK encodes booleans); absent is false."""
    text = read_string(params, name)
    if text is None:
        return False
    if text not in ("true", "false"):
        raise invalid_request(f"Invalid boolean: {text}", param=name)
    return text == "true"


def read_list(params: Params, name: str) -> list[str] | None:
    """An array of strings, sent as ``name[0]=..&name[1]=..`` (or ``name[]=..``)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict) or not all(key.isdigit() for key in value):
        raise invalid_request(f"Invalid array: {name}", param=name)
    items = [value[key] for key in sorted(value, key=int)]
    if not all(isinstance(item, str) for item in items):
        raise invalid_request(f"Invalid array: {name}", param=name)
    return items


def read_metadata(params: Params) -> dict[str, str]:
    """``metadata[key]=value`` pairs: at most 50 keys of 40 characters, values of 500."""
    raw = params.get("metadata")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param="metadata")
    if len(raw) > 50:
        raise invalid_request("Metadata can have at most 50 keys.", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_request("Metadata values must be strings.", param=f"metadata[{key}]")
        if len(key) > 40 or len(value) > 500:
            raise invalid_request(
                "Metadata keys are at most 40 characters and values at most 500.",
                param=f"metadata[{key}]",
            )
    # An empty value unsets a key in Stripe; on create it simply is not stored.
    return {key: value for key, value in raw.items() if value != ""}
