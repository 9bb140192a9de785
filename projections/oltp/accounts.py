"""The ``accounts`` table: one row per company, with the ids of its contacts.

The account's own events carry its whole contact list, so the list here is the account's
word on membership; readers join the contact rows they know of at read time, so a contact
whose events come later than the account's is shown as soon as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp import duplicates
from projections.oltp.rows import Patch, Table, column, own_row
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
    handler = HANDLERS.get(envelope.type)
    values = handler(envelope) if handler is not None else {}
    if "name" in values:
        values["name_key"] = duplicates.name_key(values["name"])
    return own_row(TABLE, envelope, "crm.account.created.v1", values)


def _created(envelope: Envelope) -> dict[str, Any]:
    data = envelope.data
    return {
        "name": data["name"],
        "domain": data["domain"],
        "industry": data["industry"],
        "size": data["size"],
        "owner": data["owner"],
        "contacts": [],
        "created_at": format_time(envelope.time),
    }


def _members(envelope: Envelope) -> dict[str, Any]:
    return {"contacts": [str(c) for c in envelope.data["contacts"]]}


#: Per registered account event type, the columns it sets.
HANDLERS: dict[str, Callable[[Envelope], dict[str, Any]]] = {
    "crm.account.created.v1": _created,
    "crm.account.details_changed.v1": lambda e: dict(e.data["changes"]),
    "crm.account.contact_added.v1": _members,
    "crm.account.contact_removed.v1": _members,
}
