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
    "id", "name", "email", "phone", "company", "title", "tags", "owner", "lifecycle_stage",
    "lead_score", "created_at", "updated_at", "last_interaction_at", "version", "position",
)


def ddl(types: dict[str, str]) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS contacts (
            id {types['uuid']} PRIMARY KEY,
            name TEXT,
            email TEXT,
            phone TEXT,
            company TEXT,
            title TEXT,
            tags {types['json']} NOT NULL,
            owner TEXT,
            lifecycle_stage TEXT NOT NULL,
            lead_score INTEGER NOT NULL,
            created_at {types['ts']} NOT NULL,
            updated_at {types['ts']} NOT NULL,
            last_interaction_at {types['ts']},
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
    data = envelope.data
    at = format_time(envelope.time)
    if envelope.type == "crm.contact.created.v1":
        values = {
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "company": data["company"],
            "title": data["title"],
            "tags": list(data["tags"]),
            "owner": data["owner"],
            "lifecycle_stage": data["lifecycle_stage"],
            "lead_score": 0,
            "created_at": at,
            "updated_at": at,
            "last_interaction_at": None,
        }
        creates = True
    elif envelope.type == "crm.contact.details_changed.v1":
        values = {**data["changes"], "updated_at": at}
        creates = False
    elif envelope.type == "crm.contact.interaction_recorded.v1":
        values = {
            "lead_score": data["lead_score"],
            "last_interaction_at": data["occurred_at"],
            "updated_at": at,
        }
        creates = False
    else:
        return None
    return ContactPatch(envelope.subject, envelope.sequence, envelope.position, creates, values)


def merge(patches: list[ContactPatch]) -> list[ContactPatch]:
    """One patch per contact, in the order the contacts first appeared."""
    merged: dict[str, ContactPatch] = {}
    for patch in patches:
        earlier = merged.get(patch.id)
        merged[patch.id] = patch if earlier is None else earlier.then(patch)
    return list(merged.values())
