"""The ``cases`` table: one row per support case, its status, agent and SLA deadlines,
with a breached flag per deadline kind (from ``crm.case.sla_breached.v1``), the skill it
needs, and the earlier case it repeats when it was linked as a duplicate (and closed).

The case's subject is free text that may name the customer: it is cleared when the
contact is erased, whichever of the two events is projected first (``scrub``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

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
        # Added by the schema's second version (``schema.steps``): new columns go last.
        column("skill"),
        column("duplicate_of", "uuid"),
    ),
    indexes=(("contact_id",), ("status",), ("agent",)),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "case":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope.data)
    return own_row(TABLE, envelope, "crm.case.opened.v1", values)


def _opened(data: dict[str, Any]) -> dict[str, Any]:
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
        "skill": None,  # set by its own event, right after the opening
        "duplicate_of": None,
    }


def _responded(data: dict[str, Any]) -> dict[str, Any]:
    values = {"responses": data["responses"], "status": data["status"]}
    if data["first_response"]:
        values.update(first_responded_at=data["at"], first_response_met=data["first_response_met"])
    return values


def _resolved(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "resolved",
        "resolved_at": data["at"],
        "resolution_met": data["resolution_met"],
        "first_contact_resolution": data["first_contact_resolution"],
        "responses": data["responses"],
    }


def _reopened(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "open",
        "resolved_at": None,
        "resolution_met": None,
        "first_contact_resolution": None,
        "reopen_count": data["reopen_count"],
    }


def _priority_changed(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "priority": data["priority"],
        "first_response_due": data["first_response_due"],
        "resolution_due": data["resolution_due"],
    }


def _breached(data: dict[str, Any]) -> dict[str, Any]:
    if data["kind"] not in BREACH_KINDS:
        raise ValueError(f"unknown SLA breach kind {data['kind']!r}")
    return {f"{data['kind']}_breached": True}


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


#: Per registered case event type, the columns it sets.
HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm.case.opened.v1": _opened,
    "crm.case.skill_set.v1": lambda d: {"skill": d["skill"]},
    "crm.case.assigned.v1": lambda d: {"agent": d["agent"], "status": d["status"]},
    "crm.case.responded.v1": _responded,
    "crm.case.pending.v1": lambda d: {"status": "pending"},
    "crm.case.customer_replied.v1": lambda d: {"status": "open"},
    "crm.case.resolved.v1": _resolved,
    "crm.case.reopened.v1": _reopened,
    "crm.case.closed.v1": lambda d: {"status": "closed", "closed_at": d["at"]},
    "crm.case.duplicate_linked.v1": lambda d: {
        "status": d["status"],
        "closed_at": d["at"],
        "duplicate_of": d["original_id"],
    },
    "crm.case.priority_changed.v1": _priority_changed,
    "crm.case.sla_breached.v1": _breached,
}


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
