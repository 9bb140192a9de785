"""The ``accounts`` table: one row per company, with the ids of its contacts.

The account's own events carry its whole contact list, so the list here is the account's
word on membership; readers join the contact rows they know of at read time, so a contact
whose events come later than the account's is shown as soon as it arrives.
"""

from __future__ import annotations

from typing import Any

from projections.oltp import duplicates
from projections.oltp.rows import Patch, Table, column
from streams.envelope import Envelope, format_time

TABLE = Table(
    "accounts",
    (
        column("id", "uuid", True),
        column("name", required=True),
        column("name_key"),
        column("domain"),
        column("industry"),
        column("size"),
        column("owner"),
        column("contacts", "json", True),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("owner",),),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "account":
        return None
    data = envelope.data
    kind = envelope.type.split(".")[2]
    values: dict[str, Any] = {}
    if kind == "created":
        values = {
            "name": data["name"],
            "domain": data["domain"],
            "industry": data["industry"],
            "size": data["size"],
            "owner": data["owner"],
            "contacts": [],
            "created_at": format_time(envelope.time),
        }
    elif kind == "details_changed":
        values = dict(data["changes"])
    elif kind in ("contact_added", "contact_removed"):
        values = {"contacts": [str(c) for c in data["contacts"]]}
    if "name" in values:
        values["name_key"] = duplicates.name_key(values["name"])
    values["updated_at"] = format_time(envelope.time)
    creates = envelope.type == "crm.account.created.v1"
    return Patch(TABLE.name, envelope.subject, envelope.sequence, envelope.position, creates, values)
