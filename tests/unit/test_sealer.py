"""A sealed personal field opens to what was sealed, whatever its JSON, and not once its
owner's key is gone."""

from __future__ import annotations

import json
import math
import os
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from commands.privacy import Sealer
from domain.privacy import ERASED


class Vault:
    def __init__(self) -> None:
        self.keys: dict[uuid.UUID, bytes] = {}

    def personal_key(self, contact_id: uuid.UUID, create: bool) -> bytes | None:
        if create and contact_id not in self.keys:
            self.keys[contact_id] = os.urandom(32)
        return self.keys.get(contact_id)


OWNER = uuid.UUID("0b8a3c7e-1f1e-4c9a-9d2b-4c1f5e6a7b8c")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal, counting NaN equal to NaN (json keeps NaN as NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@given(json_values)
def test_a_sealed_value_opens_to_what_json_reads_back(value: Any) -> None:
    sealer = Sealer(Vault())
    opened = sealer.open(sealer.seal(value, OWNER))
    assert same(opened, json.loads(json.dumps(value)))


def test_values_beyond_the_fast_decoder_open_as_json_reads_them() -> None:
    sealer = Sealer(Vault())
    assert math.isnan(sealer.open(sealer.seal(float("nan"), OWNER)))
    assert sealer.open(sealer.seal(float("inf"), OWNER)) == float("inf")
    assert sealer.open(sealer.seal(10**40, OWNER)) == 10**40


def test_open_all_opens_every_sealed_value_and_leaves_the_rest() -> None:
    sealer = Sealer(Vault())
    other = uuid.uuid4()
    data = {
        "name": sealer.seal("Ada Lovelace", OWNER),
        "nested": {"emails": [sealer.seal("ada@example.com", OWNER), sealer.seal("b@example.com", other)]},
        "stage": "lead",
        "score": 3,
    }
    assert sealer.open_all(data) == {
        "name": "Ada Lovelace",
        "nested": {"emails": ["ada@example.com", "b@example.com"]},
        "stage": "lead",
        "score": 3,
    }


def test_a_forgotten_or_missing_key_opens_nothing() -> None:
    vault = Vault()
    sealer = Sealer(vault)
    sealed = sealer.seal("Ada Lovelace", OWNER)
    sealer.forget(OWNER)
    assert sealer.open(sealed) == ERASED
    # another process's sealer, after the key was deleted from the vault
    del vault.keys[OWNER]
    assert Sealer(vault).open(sealed) == ERASED


def test_a_value_sealed_for_one_owner_does_not_open_under_anothers_name() -> None:
    sealer = Sealer(Vault())
    sealed = sealer.seal("Ada Lovelace", OWNER)
    other = uuid.uuid4()
    sealer.seal("x", other)  # the other owner has a key
    forged = sealed.replace(OWNER.hex, other.hex)
    assert sealer.open(forged) == ERASED
