"""The ``pipelines`` table: one row per pipeline with its ordered stages (key, name, win
probability). Every pipeline event carries the whole new stage list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
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
    values = HANDLERS.get(envelope.type, _stages)(envelope)
    return own_row(TABLE, envelope, "crm.pipeline.created.v1", values)


def _stages(envelope: Envelope) -> dict[str, Any]:
    return {"stages": list(envelope.data["stages"])}


def _created(envelope: Envelope) -> dict[str, Any]:
    return {**_stages(envelope), "name": envelope.data["name"], "created_at": format_time(envelope.time)}


#: Per registered pipeline event type, the columns it sets: every one the whole stage list.
HANDLERS: dict[str, Callable[[Envelope], dict[str, Any]]] = {
    "crm.pipeline.created.v1": _created,
    "crm.pipeline.stage_added.v1": _stages,
    "crm.pipeline.stage_renamed.v1": _stages,
    "crm.pipeline.stage_probability_changed.v1": _stages,
    "crm.pipeline.stages_reordered.v1": _stages,
}
