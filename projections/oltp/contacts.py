"""The ``contacts`` table: one row per contact, its current state.

``project`` is pure (an envelope in, a patch out); the writer applies patches in batches.
Every patch holds absolute values and the version it brings the row to, so applying an
event twice changes nothing: the row only moves forward.
"""

from __future__ import annotations

from typing import Any

from projections.oltp import duplicates
from projections.oltp.rows import Patch, Table, column, merge
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
    creates = envelope.type == "crm.contact.created.v1"
    values["updated_at"] = format_time(envelope.time)
    return Patch(TABLE.name, envelope.subject, envelope.sequence, envelope.position, creates, values)


def _values(envelope: Envelope) -> dict[str, Any]:
    """The columns an event sets, as absolute values."""
    data = envelope.data
    kind = envelope.type.split(".")[2]
    if kind == "created":
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
    if kind == "details_changed":
        return dict(data["changes"])
    if kind == "interaction_recorded":
        return {"lead_score": data["lead_score"], "last_interaction_at": data["occurred_at"]}
    if kind == "consent_given":
        return {"consented": True}
    if kind == "consent_withdrawn":
        return {"consented": False}
    if kind == "lifecycle_stage_changed":
        return {"lifecycle_stage": data["to_stage"]}
    if kind == "account_linked":
        return {"account_id": data["account_id"]}
    if kind == "merged_into":
        return {"merged_into": data["survivor_id"]}
    if kind == "absorbed":
        return {"tags": list(data["tags"]), "lead_score": data["lead_score"]}
    if kind == "erased":
        # The operational model keeps no personal data of an erased person.
        return {"erased": True, "name": None, "email": None, "phone": None}
    return {}  # events that change nothing shown here (a follow-up task)


def _add_keys(values: dict[str, Any]) -> None:
    """The normalised keys follow the values they are derived from."""
    if "email" in values:
        values["email_key"] = duplicates.email_key(values["email"])
    if "phone" in values:
        values["phone_key"] = duplicates.phone_key(values["phone"])
    if "name" in values:
        values["name_key"] = duplicates.name_key(values["name"])
