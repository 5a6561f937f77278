"""The emulator's parts without HTTP: form decoding, the idempotency store, clocks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

# The SDK's own encoder, so that decoding is checked against what the SDK really sends.
from stripe._encode import _api_encode

from stripe_emulator import KEY_LIFETIME_SECONDS, ManualClock, SystemClock
from stripe_emulator.forms import decode, parse_pairs, read_list
from stripe_emulator.idempotency import IdempotencyStore, fingerprint
from stripe_emulator.responses import Reply, StripeFailure

_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="[]"),
    min_size=1,
    max_size=20,
)


def _sdk_encoded(params: dict[str, Any]) -> str:
    return urlencode(list(_api_encode(params)))


@given(
    metadata=st.dictionaries(_text, _text, max_size=5),
    amount=st.integers(min_value=1, max_value=99_999_999),
    expand=st.lists(_text, max_size=3),
)
def test_decoding_inverts_the_sdk_encoding(
    metadata: dict[str, str], amount: int, expand: list[str]
):
    params: dict[str, Any] = {"amount": amount, "confirm": True, "metadata": metadata}
    if expand:
        params["expand"] = expand
    decoded = decode(parse_pairs(_sdk_encoded(params)))
    assert decoded["amount"] == str(amount)
    assert decoded["confirm"] == "true"
    assert decoded.get("metadata", {}) == metadata
    assert (read_list(decoded, "expand") or []) == expand


def test_decoding_nests_list_filters():
    decoded = decode(parse_pairs("customer=cus_1&created%5Bgte%5D=10&created%5Blt%5D=20"))
    assert decoded == {"customer": "cus_1", "created": {"gte": "10", "lt": "20"}}


def test_a_key_that_is_both_value_and_hash_is_refused():
    with pytest.raises(StripeFailure) as raised:
        decode(parse_pairs("metadata=x&metadata%5Ba%5D=y"))
    assert raised.value.status == 400


SCOPE = ("sk_test", "key-1")
SAVED = Reply(200, b"{}")


def test_store_claims_replays_and_refuses_other_parameters():
    store = IdempotencyStore()
    same = fingerprint("POST", "/v1/payment_intents", [("amount", "1")])
    other = fingerprint("POST", "/v1/payment_intents", [("amount", "2")])
    assert store.begin(SCOPE, same, now=0).verdict == "execute"
    assert store.begin(SCOPE, same, now=1).verdict == "in_flight"
    store.save(SCOPE, SAVED, "req_1")
    replay = store.begin(SCOPE, same, now=2)
    assert (replay.verdict, replay.response, replay.original_request_id) == (
        "replay",
        SAVED,
        "req_1",
    )
    assert store.begin(SCOPE, other, now=3).verdict == "mismatch"


def test_store_release_frees_an_unsaved_claim_only():
    store = IdempotencyStore()
    store.begin(SCOPE, "f", now=0)
    store.release(SCOPE)
    assert len(store) == 0
    store.begin(SCOPE, "f", now=0)
    store.save(SCOPE, SAVED, "req_1")
    store.release(SCOPE)
    assert store.begin(SCOPE, "f", now=0).verdict == "replay"


def test_store_prunes_keys_once_24_hours_old():
    store = IdempotencyStore()
    for n in range(3):
        scope = ("sk_test", f"key-{n}")
        store.begin(scope, "f", now=n)
        store.save(scope, SAVED, "req")
    store.prune(now=KEY_LIFETIME_SECONDS + 1)
    assert len(store) == 1
    assert store.begin(("sk_test", "key-2"), "f", now=KEY_LIFETIME_SECONDS + 1).verdict == "replay"
    assert store.begin(("sk_test", "key-0"), "f", now=KEY_LIFETIME_SECONDS + 1).verdict == (
        "execute"
    )


def test_clocks_advance_forward_only_and_reset():
    manual = ManualClock(start=100)
    manual.advance(50)
    assert manual.now() == 150
    manual.reset()
    assert manual.now() == 100
    system = SystemClock()
    before = system.now()
    system.advance(3600)
    assert system.now() >= before + 3600
    with pytest.raises(ValueError, match="forward"):
        system.advance(-1)
