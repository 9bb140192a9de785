"""The ``agents`` table: one row per support agent (named by the handle cases are assigned
to), their skills, capacity and load: the open cases they hold, as the agent's own events
count them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "agents",
    (
        column("id", "uuid", True),
        column("handle", required=True),
        column("skills", "json", True),
        column("capacity", "int", True),
        column("load", "int", True),
        column("last_taken_at", "ts"),
        column("registered_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("handle",),),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "agent":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope.data)
    return own_row(TABLE, envelope, "crm.agent.registered.v1", values)


def _registered(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "handle": data["handle"],
        "skills": list(data["skills"]),
        "capacity": data["capacity"],
        "load": 0,
        "last_taken_at": None,
        "registered_at": data["at"],
    }


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


#: Per registered agent event type, the columns it sets.
HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm.agent.registered.v1": _registered,
    "crm.agent.skills_changed.v1": lambda d: {"skills": list(d["skills"]), "capacity": d["capacity"]},
    "crm.agent.case_taken.v1": lambda d: {"load": d["load"], "last_taken_at": d["at"]},
    "crm.agent.case_released.v1": lambda d: {"load": d["load"]},
}
