"""The ``contacts`` table: one row per contact, its current state.

``project`` is pure (an envelope in, a patch out); the writer applies patches in batches.
Every patch holds absolute values and the version it brings the row to, so applying an
event twice changes nothing: the row only moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.envelope import Envelope, format_time

TABLE = "contacts"

COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "company",
    "title",
    "tags",
    "owner",
    "lifecycle_stage",
    "lead_score",
    "account_id",
    "consented",
    "merged_into",
    "erased",
    "created_at",
    "updated_at",
    "last_interaction_at",
    "version",
    "position",
)


def ddl(types: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS contacts (
            id {types["uuid"]} PRIMARY KEY,
            name TEXT,
            email TEXT,
            phone TEXT,
            company TEXT,
            title TEXT,
            tags {types["json"]} NOT NULL,
            owner TEXT,
            lifecycle_stage TEXT NOT NULL,
            lead_score INTEGER NOT NULL,
            account_id {types["uuid"]},
            consented BOOLEAN NOT NULL,
            merged_into {types["uuid"]},
            erased BOOLEAN NOT NULL,
            created_at {types["ts"]} NOT NULL,
            updated_at {types["ts"]} NOT NULL,
            last_interaction_at {types["ts"]},
            version INTEGER NOT NULL,
            position BIGINT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS contacts_email ON contacts (email)",
        "CREATE INDEX IF NOT EXISTS contacts_owner ON contacts (owner)",
    ]


@dataclass
class ContactPatch:
    id: str
    version: int
    position: int
    creates: bool
    values: dict[str, Any] = field(default_factory=dict)

    def then(self, later: ContactPatch) -> ContactPatch:
        """This patch followed by a later one of the same contact."""
        return ContactPatch(
            self.id,
            max(self.version, later.version),
            max(self.position, later.position),
            self.creates or later.creates,
            {**self.values, **later.values},
        )


def project(envelope: Envelope) -> ContactPatch | None:
    """Every contact event moves the row's version, even one that changes no column shown
    here, so that the version a reader sees is the one ``If-Match`` expects."""
    if envelope.aggregate_type != "contact":
        return None
    values = _values(envelope)
    creates = envelope.type == "crm.contact.created.v1"
    values["updated_at"] = format_time(envelope.time)
    return ContactPatch(envelope.subject, envelope.sequence, envelope.position, creates, values)


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


def merge(patches: list[ContactPatch]) -> list[ContactPatch]:
    """One patch per contact, in the order the contacts first appeared."""
    merged: dict[str, ContactPatch] = {}
    for patch in patches:
        earlier = merged.get(patch.id)
        merged[patch.id] = patch if earlier is None else earlier.then(patch)
    return list(merged.values())
