"""Duplicate candidates, for the people who keep contact data clean.

Two active contacts (neither erased nor merged) are candidates when they share

- ``email``: the same address, lower-cased and trimmed;
- ``phone``: the same digits (every other character dropped), at least 7 of them;
- ``name``: within one account, names that are equal or very similar once normalised
  (accents dropped, case folded, punctuation and spacing ignored, word order ignored)
  with a ``difflib`` similarity ratio of at least ``NAME_SIMILARITY`` (0.85): "Grace
  Hopper", "grace  HOPPER" and "Hopper, Grace" are one name; "Grace Hoper" is close enough;
  "Grace Kelly" is not.

The keys are stored per contact (``email_key``, ``phone_key``, ``name_key``) by the
projection, so that equal keys are found by SQL; names are compared in Python, one
account at a time.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

NAME_SIMILARITY = 0.85
MIN_PHONE_DIGITS = 7

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def email_key(email: str | None) -> str | None:
    if email is None:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


def phone_key(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit() and ch.isascii())
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def name_key(name: str | None) -> str | None:
    """Case-folded, accents dropped, spaces collapsed; word order kept (it is also what a
    name search matches a substring of)."""
    if name is None:
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = _SPACES.sub(" ", plain.casefold()).strip()
    return cleaned or None


def comparable_name(key: str) -> str:
    """Punctuation dropped and words sorted: "hopper, grace" → "grace hopper"."""
    return " ".join(sorted(w for w in _NOT_WORD.split(key) if w))


def similar(a: str, b: str) -> bool:
    ca, cb = comparable_name(a), comparable_name(b)
    if not ca or not cb:
        return False
    return ca == cb or SequenceMatcher(None, ca, cb).ratio() >= NAME_SIMILARITY


def same_key_groups(contacts: Iterable[Mapping[str, Any]], key: str) -> list[list[Mapping[str, Any]]]:
    """Contacts sharing a non-empty value of ``key`` (``email_key`` or ``phone_key``)."""
    by_key: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for contact in contacts:
        if contact.get(key):
            by_key[contact[key]].append(contact)
    return [group for _, group in sorted(by_key.items()) if len(group) > 1]


def similar_name_groups(contacts: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Within each account, contacts linked by similar names (transitively: a chain of
    similar pairs is one group)."""
    by_account: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for contact in contacts:
        if contact.get("account_id") and contact.get("name_key"):
            by_account[str(contact["account_id"])].append(contact)
    groups: list[list[Mapping[str, Any]]] = []
    for _, members in sorted(by_account.items()):
        parent = list(range(len(members)))
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                if similar(members[i]["name_key"], members[j]["name_key"]):
                    parent[_root(parent, j)] = _root(parent, i)
        clusters: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for i, member in enumerate(members):
            clusters[_root(parent, i)].append(member)
        groups.extend(c for c in clusters.values() if len(c) > 1)
    return groups


def _root(parent: list[int], i: int) -> int:
    """Union-find: the representative of ``i``'s cluster."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i
