"""The ``pipelines`` table: one row per pipeline with its ordered stages (key, name, win
probability). Every pipeline event carries the whole new stage list."""

from __future__ import annotations

from typing import Any

from projections.oltp.rows import Patch, Table, column
from streams.envelope import Envelope, format_time

TABLE = Table(
    "pipelines",
    (
        column("id", "uuid", True),
        column("name", required=True),
        column("stages", "json", True),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "pipeline":
        return None
    data = envelope.data
    values: dict[str, Any] = {"stages": list(data["stages"]), "updated_at": format_time(envelope.time)}
    creates = envelope.type == "crm.pipeline.created.v1"
    if creates:
        values.update(name=data["name"], created_at=format_time(envelope.time))
    return Patch(TABLE.name, envelope.subject, envelope.sequence, envelope.position, creates, values)
