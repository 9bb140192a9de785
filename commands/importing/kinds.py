"""What can be imported: for each kind of row, the fields a column may be mapped to (the
*targets*, named as in the HTTP API), and the command a row becomes.

A row becomes the very command the API would send (``CreateContact``, ``CreateDeal``…),
run by the very handler, so every rule of the aggregates applies to it. What an import
adds is the *external id*: the row's id in the system it comes from. Rows that create an
aggregate get an id derived from it (``aggregate_id``), so a second import of the same row
finds it and records nothing, and rows of other files can refer to it
(``contact_external_id``). Interactions have no aggregate of their own: each is recorded
with an idempotency key derived from its external id (``claim_key``), as a command sent
with an ``Idempotency-Key`` is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from commands.account import CreateAccount
from commands.case import OpenCase
from commands.contact import CreateContact, RecordInteraction
from commands.deal import CreateDeal
from commands.importing import values as v
from commands.limits import check_text
from domain.errors import InvalidValue

#: The namespace of the ids derived from external ids (``aggregate_id``). Never change it:
#: a second import of a file would then record everything again.
IMPORT_NAMESPACE = UUID("5b0c3a52-7f0e-5d43-9a55-6b1f0c2e9d11")

#: A source names the system rows come from: letters, digits, ``-``, ``_`` and ``.``.
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: External ids longer than this are refused (they end up in every event's causation id).
MAX_EXTERNAL_ID = 200

#: The prefix of targets that fill one key of an interaction's ``details``.
DETAILS_PREFIX = "details."


@lru_cache(maxsize=65536)  # interactions name the same contact again and again
def aggregate_id(source: str, aggregate: str, external_id: str) -> UUID:
    """The id of the ``aggregate`` (``contact``, ``account``, ``deal``, ``case``) imported
    from ``source`` with ``external_id``: the same on every run and in every process.

    ``uuid5(IMPORT_NAMESPACE, json.dumps([source, aggregate, external_id]))``, made with
    fewer Python calls: text that JSON writes as it is is quoted without ``json.dumps``,
    and the UUID is made from its integer (``UUID(bytes=…, version=5)`` costs more than
    the hash)."""
    if _VERBATIM(source + aggregate + external_id):
        name = f'["{source}", "{aggregate}", "{external_id}"]'
    else:
        name = json.dumps([source, aggregate, external_id])
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()
    return UUID(int=int.from_bytes(digest[:16], "big") & _VERSION_CLEAR | _VERSION_5)


_NAMESPACE_BYTES = IMPORT_NAMESPACE.bytes
#: What ``UUID(…, version=5)`` does to the integer: RFC 4122's variant, then version 5.
_VERSION_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_VERSION_5 = (0x8000 << 48) | (5 << 76)
#: Text ``json.dumps`` writes unescaped between its quotes: printable ASCII but ``"`` and ``\``.
_VERBATIM = re.compile(r"[ !#-\[\]-~]*").fullmatch


def claim_key(source: str, kind: str, external_id: str) -> str:
    """The idempotency key an imported row without an aggregate of its own is recorded with."""
    return f"import/{source}/{kind}/{external_id}"


@dataclass(frozen=True)
class Target:
    name: str
    parse: v.Parser
    help: str


@dataclass(frozen=True)
class Kind:
    """One kind of row. ``aggregate`` names what each row creates (``None``: interactions,
    recorded on an existing contact); ``required``: each group needs one of its targets
    mapped (or given with ``--set``) before anything is read."""

    name: str
    #: What one row is, in ids, idempotency keys and causation ids: ``contact``, ``interaction``…
    noun: str
    aggregate: str | None
    targets: Mapping[str, Target]
    required: tuple[tuple[str, ...], ...]
    build: Callable[[Mapping[str, Any], str], object]
    #: The target whose value keeps rows together (those of one aggregate stay in order
    #: in one worker): the row's own external id, or the contact it is about.
    affinity: tuple[str, ...] = ("external_id",)

    def target(self, name: str) -> Target | None:
        if name in self.targets:
            return self.targets[name]
        if name.startswith(DETAILS_PREFIX) and "details" in self.targets and len(name) > len(DETAILS_PREFIX):
            return Target(name, v.detail, "")
        return None


def external_id(values: Mapping[str, Any]) -> str:
    raw = values.get("external_id")
    cleaned = v.text(raw, "external_id").strip() if raw is not None else ""
    if not cleaned:
        raise InvalidValue("the row has no external_id: it is what makes a second import record nothing")
    if len(cleaned) > MAX_EXTERNAL_ID:
        raise InvalidValue(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    check_text(cleaned, "external_id")
    return cleaned


def _party(values: Mapping[str, Any], source: str, aggregate: str) -> UUID | None:
    """``<aggregate>_id`` (an id in this CRM) or ``<aggregate>_external_id`` (imported
    from the same source), never both."""
    direct_name, external_name = _PARTY_TARGETS[aggregate]
    direct, external = values.get(direct_name), values.get(external_name)
    if direct is not None and external is not None:
        raise InvalidValue(f"give {direct_name} or {external_name}, not both")
    if external is not None:
        return aggregate_id(source, aggregate, v.text(external, external_name).strip())
    return direct


#: The two targets naming a party of a row (an id in this CRM, or an external id).
_PARTY_TARGETS = {a: (f"{a}_id", f"{a}_external_id") for a in ("contact", "account")}


def _given(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


def _rename(values: Mapping[str, Any], **names: str) -> dict[str, Any]:
    return {field: values[target] for field, target in names.items() if target in values}


def _contact(values: Mapping[str, Any], source: str) -> CreateContact:
    return CreateContact(
        name=values.get("name", ""),
        **_given(values, "email", "phone", "company", "title", "tags", "owner", "lifecycle_stage"),
    )


def _account(values: Mapping[str, Any], source: str) -> CreateAccount:
    return CreateAccount(name=values.get("name", ""), **_given(values, "domain", "industry", "size", "owner"))


def _deal(values: Mapping[str, Any], source: str) -> CreateDeal:
    if "pipeline_id" not in values:
        raise InvalidValue("the row has no pipeline_id (map a column to it, or give one with --set pipeline_id=ID)")
    return CreateDeal(
        pipeline_id=values["pipeline_id"],
        title=values.get("title", ""),
        contact_id=_party(values, source, "contact"),
        account_id=_party(values, source, "account"),
        **_given(values, "amount", "currency", "owner", "expected_close_on"),
        **_rename(values, at="created_at"),
    )


def _case(values: Mapping[str, Any], source: str) -> OpenCase:
    contact_id = _party(values, source, "contact")
    if contact_id is None:
        raise InvalidValue("the row names no contact (contact_id or contact_external_id)")
    return OpenCase(
        contact_id=contact_id,
        subject=values.get("subject", ""),
        **_given(values, "priority", "channel"),
        **_rename(values, at="opened_at"),
        link_duplicates=False,
    )


def _interaction(values: Mapping[str, Any], source: str) -> RecordInteraction:
    contact_id = _party(values, source, "contact")
    if contact_id is None:
        raise InvalidValue("the row names no contact (contact_id or contact_external_id)")
    details = dict(values.get("details", {}))
    for name, value in values.items():
        if name.startswith(DETAILS_PREFIX):
            details[name[len(DETAILS_PREFIX) :]] = value
    return RecordInteraction(
        contact_id=contact_id,
        interaction_type=v.text(values.get("type", ""), "type").strip(),
        occurred_at=values.get("occurred_at"),
        details=details,
    )


def _targets(*targets: Target) -> dict[str, Target]:
    return {t.name: t for t in targets}


_EXTERNAL_ID = Target("external_id", v.text, "the row's id in the system it comes from (required)")
_OWNER = Target("owner", v.text, "who owns it")


def _party_targets(aggregate: str) -> tuple[Target, Target]:
    return (
        Target(f"{aggregate}_external_id", v.text, f"the {aggregate}'s external id, imported from the same --source"),
        Target(f"{aggregate}_id", v.identifier, f"the {aggregate}'s id in eventcrm"),
    )


KINDS: dict[str, Kind] = {
    "contacts": Kind(
        "contacts",
        "contact",
        "contact",
        _targets(
            _EXTERNAL_ID,
            Target("name", v.text, "full name (required)"),
            Target("email", v.text, ""),
            Target("phone", v.text, ""),
            Target("company", v.text, ""),
            Target("title", v.text, "job title"),
            Target("tags", v.tags, "separated by ';' or ','"),
            _OWNER,
            Target("lifecycle_stage", v.text, "subscriber, lead, marketing_qualified, … (default subscriber)"),
        ),
        required=(("external_id",), ("name",)),
        build=_contact,
    ),
    "accounts": Kind(
        "accounts",
        "account",
        "account",
        _targets(
            _EXTERNAL_ID,
            Target("name", v.text, "company name (required)"),
            Target("domain", v.text, "web domain, e.g. acme.example"),
            Target("industry", v.text, ""),
            Target("size", v.text, ""),
            _OWNER,
        ),
        required=(("external_id",), ("name",)),
        build=_account,
    ),
    "deals": Kind(
        "deals",
        "deal",
        "deal",
        _targets(
            _EXTERNAL_ID,
            Target("pipeline_id", v.identifier, "the pipeline (required; often given once with --set)"),
            Target("title", v.text, "(required)"),
            *_party_targets("contact"),
            *_party_targets("account"),
            Target("amount", v.amount, "e.g. 1234.50"),
            Target("currency", v.text, "3 letters (default EUR)"),
            _OWNER,
            Target("expected_close_on", v.day, "YYYY-MM-DD"),
            Target("created_at", v.instant, "when the deal was created (default: now)"),
        ),
        required=(
            ("external_id",),
            ("pipeline_id",),
            ("title",),
            ("contact_external_id", "contact_id", "account_external_id", "account_id"),
        ),
        build=_deal,
    ),
    "cases": Kind(
        "cases",
        "case",
        "case",
        _targets(
            _EXTERNAL_ID,
            *_party_targets("contact"),
            Target("subject", v.text, "(required)"),
            Target("priority", v.text, "low, normal, high or urgent (default normal)"),
            Target("channel", v.text, "(default email)"),
            Target("opened_at", v.instant, "when the case was opened (default: now); sets its deadlines"),
        ),
        required=(("external_id",), ("contact_external_id", "contact_id"), ("subject",)),
        build=_case,
    ),
    "interactions": Kind(
        "interactions",
        "interaction",
        None,
        _targets(
            _EXTERNAL_ID,
            *_party_targets("contact"),
            Target("type", v.text, "email_opened, page_visited, purchase, … (required)"),
            Target("occurred_at", v.instant, "(default: now)"),
            Target("details", v.details, "a JSON object; or one key per column with details.KEY"),
        ),
        required=(("external_id",), ("contact_external_id", "contact_id"), ("type",)),
        build=_interaction,
        affinity=("contact_external_id", "contact_id"),
    ),
}
