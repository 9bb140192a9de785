"""The ``cases`` table: one row per support case, its status, agent and SLA deadlines,
with a breached flag per deadline kind (from ``crm.case.sla_breached.v1``).

The case's subject is free text that may name the customer: it is cleared when the
contact is erased, whichever of the two events is projected first (``scrub``).
"""

from __future__ import annotations

from typing import Any

from projections.oltp.rows import Patch, Table, column
from streams.envelope import Envelope, format_time

BREACH_KINDS = ("first_response", "resolution")

TABLE = Table(
    "cases",
    (
        column("id", "uuid", True),
        column("contact_id", "uuid", True),
        column("subject"),
        column("priority", required=True),
        column("channel", required=True),
        column("status", required=True),
        column("agent"),
        column("opened_at", "ts", True),
        column("first_response_due", "ts", True),
        column("resolution_due", "ts", True),
        column("first_responded_at", "ts"),
        column("first_response_met", "bool"),
        column("resolved_at", "ts"),
        column("resolution_met", "bool"),
        column("closed_at", "ts"),
        column("responses", "int", True),
        column("reopen_count", "int", True),
        column("first_contact_resolution", "bool"),
        column("first_response_breached", "bool", True),
        column("resolution_breached", "bool", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("contact_id",), ("status",), ("agent",)),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "case":
        return None
    values = _values(envelope.type.split(".")[2], envelope.data)
    values["updated_at"] = format_time(envelope.time)
    creates = envelope.type == "crm.case.opened.v1"
    return Patch(TABLE.name, envelope.subject, envelope.sequence, envelope.position, creates, values)


def _values(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "opened":
        return {
            "contact_id": data["contact_id"],
            "subject": data["subject"],
            "priority": data["priority"],
            "channel": data["channel"],
            "status": data["status"],
            "agent": None,
            "opened_at": data["at"],
            "first_response_due": data["first_response_due"],
            "resolution_due": data["resolution_due"],
            "first_responded_at": None,
            "first_response_met": None,
            "resolved_at": None,
            "resolution_met": None,
            "closed_at": None,
            "responses": 0,
            "reopen_count": 0,
            "first_contact_resolution": None,
            "first_response_breached": False,
            "resolution_breached": False,
        }
    if kind == "assigned":
        return {"agent": data["agent"], "status": data["status"]}
    if kind == "responded":
        values = {"responses": data["responses"], "status": data["status"]}
        if data["first_response"]:
            values.update(first_responded_at=data["at"], first_response_met=data["first_response_met"])
        return values
    if kind == "pending":
        return {"status": "pending"}
    if kind == "customer_replied":
        return {"status": "open"}
    if kind == "resolved":
        return {
            "status": "resolved",
            "resolved_at": data["at"],
            "resolution_met": data["resolution_met"],
            "first_contact_resolution": data["first_contact_resolution"],
            "responses": data["responses"],
        }
    if kind == "reopened":
        return {
            "status": "open",
            "resolved_at": None,
            "resolution_met": None,
            "first_contact_resolution": None,
            "reopen_count": data["reopen_count"],
        }
    if kind == "closed":
        return {"status": "closed", "closed_at": data["at"]}
    if kind == "priority_changed":
        return {
            "priority": data["priority"],
            "first_response_due": data["first_response_due"],
            "resolution_due": data["resolution_due"],
        }
    if kind == "sla_breached":
        if data["kind"] not in BREACH_KINDS:
            raise ValueError(f"unknown SLA breach kind {data['kind']!r}")
        return {f"{data['kind']}_breached": True}
    return {}


def scrub(cases: str, contacts: str, ph: str) -> tuple[str, str]:
    """Two statements clearing the subjects of an erased person's cases, given the
    physical table names: by erased contact id, and by newly created case id (a case
    projected after its contact's erasure)."""
    by_contact = f"UPDATE {cases} SET subject = NULL WHERE contact_id = {ph} AND subject IS NOT NULL"
    by_case = (
        f"UPDATE {cases} SET subject = NULL WHERE id = {ph} AND subject IS NOT NULL "
        f"AND EXISTS (SELECT 1 FROM {contacts} c WHERE c.id = {cases}.contact_id AND c.erased)"
    )
    return by_contact, by_case
