"""The published JSON Schema and the model accept exactly the same documents.

A producer in another language validates against ``schema/charge-request.v1.json`` with its
own validator; the handler validates with the pydantic model. Any document one accepts and
the other refuses is either dead-lettered although the producer checked it, or published as
invalid although the handler would charge it. Documents are drawn from the schema itself
(``hypothesis-jsonschema``) and as near-misses of valid ones; an independent validator
(``jsonschema``, Draft 2020-12) judges them beside the model.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

import jsonschema
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import ValidationError

from charges.contract import ChargeRequest

SCHEMA = json.loads((Path(__file__).parents[2] / "schema" / "charge-request.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

FIELDS = ["version", "request_id", "customer", "amount", "currency", "payment_method",
          "description", "metadata"]  # fmt: skip

#: Values that break one rule or sit just beside one: types JSON can carry, lengths off by
#: one, characters the patterns exclude, a trailing newline (Python's ``$`` lets it through).
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1500.0, 1.5, 1e3, 99_999_999, 100_000_000, "", "1500",
    "usd", "USD", "usd\n", "cus_1", "cus_1\n", "pm_1", "pm_1\n", "a" * 200, "a" * 201,
    "x" * 1000, "x" * 1001, [], {}, {"k": "v"}, {"items[0]": "v"}, {"request_id": "x"},
    {"k" * 40: "v"}, {"k" * 41: "v"}, {"": "v"}, {"k": "v" * 500}, {"k": "v" * 501}, {"k": 1},
    {f"k{i}": "v" for i in range(49)}, {f"k{i}": "v" for i in range(50)},
]  # fmt: skip


@st.composite
def near_misses(draw: st.DrawFn) -> Any:
    """A valid document with one field dropped, added or replaced by an odd value."""
    # The schema's root is an object, so every document drawn from it is a dict.
    document = cast(dict[str, Any], copy.deepcopy(draw(from_schema(SCHEMA))))
    change = draw(st.sampled_from(["drop", "add", "replace"]))
    if change == "drop":
        document.pop(draw(st.sampled_from(FIELDS)), None)
    elif change == "add":
        document[draw(st.sampled_from(["unknown", "Amount", "request-id"]))] = 1
    else:
        document[draw(st.sampled_from(FIELDS))] = draw(st.sampled_from(ODD_VALUES))
    return document


def model_accepts(document: Any) -> bool:
    try:
        ChargeRequest.model_validate(document)
    except ValidationError:
        return False
    return True


def assert_agree(document: Any) -> None:
    schema_says = VALIDATOR.is_valid(document)
    assert model_accepts(document) == schema_says, (schema_says, document)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_schema(SCHEMA))
def test_every_document_the_schema_generates_is_accepted_by_the_model(document: Any) -> None:
    assert VALIDATOR.is_valid(document)
    assert model_accepts(document), document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_misses())
# The two bodies the contract once disagreed on: a whole number written as a float, and a
# metadata key with square brackets (Stripe refuses those keys).
@example({"version": 1, "request_id": "r", "customer": "cus_1", "amount": 1500.0,
          "currency": "usd"})  # fmt: skip
@example({"version": 1, "request_id": "r", "customer": "cus_1", "amount": 1500,
          "currency": "usd", "metadata": {"items[0]": "x"}})  # fmt: skip
def test_the_model_and_the_schema_agree_on_near_misses(document: Any) -> None:
    assert_agree(document)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from([*FIELDS, "x"]), children, max_size=8)
        ),
        max_leaves=12,
    )
)
def test_the_model_and_the_schema_agree_on_arbitrary_json(document: Any) -> None:
    assert_agree(document)
