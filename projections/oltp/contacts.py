"""The ``contacts`` table: one row per contact, its current state.

``project`` is pure (an envelope in, a patch out); the writer applies patches in batches.
Every patch holds absolute values and the version it brings the row to, so applying an
event twice changes nothing: the row only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp import duplicates
from projections.oltp.rows import Patch, Table, column, merge, own_row
from streams.envelope import Envelope, format_time

TABLE = Table(
    "contacts",
    (
        column("id", "uuid", True),
        column("name"),
        column("email"),
        column("phone"),
        column("company"),
        column("title"),
        column("tags", "json", True),
        column("owner"),
        column("lifecycle_stage", required=True),
        column("lead_score", "int", True),
        column("account_id", "uuid"),
        column("consented", "bool", True),
        column("merged_into", "uuid"),
        column("erased", "bool", True),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("last_interaction_at", "ts"),
        column("version", "int", True),
        column("position", "bigint", True),
        # Normalised keys: for search and for duplicate candidates (see duplicates.py).
        column("email_key"),
        column("phone_key"),
        column("name_key"),
    ),
    indexes=(("email",), ("owner",), ("email_key",), ("phone_key",), ("account_id",)),
)

COLUMNS = TABLE.column_names

#: Kept for readers of older code: a contact's patch is a ``Patch`` of this table.
ContactPatch = Patch

__all__ = ["COLUMNS", "TABLE", "ContactPatch", "merge", "project"]


def project(envelope: Envelope) -> Patch | None:
    """Every contact event moves the row's version, even one that changes no column shown
    here, so that the version a reader sees is the one ``If-Match`` expects."""
    if envelope.aggregate_type != "contact":
        return None
    values = _values(envelope)
    _add_keys(values)
    return own_row(TABLE, envelope, "crm.contact.created.v1", values)


def _values(envelope: Envelope) -> dict[str, Any]:
    """The columns an event sets, as absolute values."""
    values = HANDLERS.get(envelope.type, _version_only)
    return values(envelope)


def _created(envelope: Envelope) -> dict[str, Any]:
    data = envelope.data
    return {
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "company": data["company"],
        "title": data["title"],
        "tags": list(data["tags"]),
        "owner": data["owner"],
        "lifecycle_stage": data["lifecycle_stage"],
        "lead_score": 0,
        "account_id": data.get("account_id"),
        "consented": False,
        "merged_into": None,
        "erased": False,
        "created_at": format_time(envelope.time),
        "last_interaction_at": None,
    }


def _version_only(envelope: Envelope) -> dict[str, Any]:
    """An event that changes nothing shown here (a follow-up task) still moves the version."""
    return {}


#: Per registered contact event type, the columns it sets.
HANDLERS: dict[str, Callable[[Envelope], dict[str, Any]]] = {
    "crm.contact.created.v1": _created,
    "crm.contact.details_changed.v1": lambda e: dict(e.data["changes"]),
    "crm.contact.interaction_recorded.v1": lambda e: {
        "lead_score": e.data["lead_score"],
        "last_interaction_at": e.data["occurred_at"],
    },
    "crm.contact.consent_given.v1": lambda e: {"consented": True},
    "crm.contact.consent_withdrawn.v1": lambda e: {"consented": False},
    "crm.contact.lifecycle_stage_changed.v1": lambda e: {"lifecycle_stage": e.data["to_stage"]},
    "crm.contact.account_linked.v1": lambda e: {"account_id": e.data["account_id"]},
    "crm.contact.follow_up_assigned.v1": _version_only,
    "crm.contact.merged_into.v1": lambda e: {"merged_into": e.data["survivor_id"]},
    "crm.contact.absorbed.v1": lambda e: {"tags": list(e.data["tags"]), "lead_score": e.data["lead_score"]},
    # The operational model keeps no personal data of an erased person.
    "crm.contact.erased.v1": lambda e: {"erased": True, "name": None, "email": None, "phone": None},
}


def _add_keys(values: dict[str, Any]) -> None:
    """The normalised keys follow the values they are derived from."""
    if "email" in values:
        values["email_key"] = duplicates.email_key(values["email"])
    if "phone" in values:
        values["phone_key"] = duplicates.phone_key(values["phone"])
    if "name" in values:
        values["name_key"] = duplicates.name_key(values["name"])
