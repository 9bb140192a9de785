"""The ``products`` table: one row per product of the catalog, its details and whether it
is active or retired. Prices are the price lists' (``price_lists``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "products",
    (
        column("id", "uuid", True),
        column("code", required=True),
        column("name", required=True),
        column("model"),
        column("specification"),
        column("status", required=True),
        column("retired_at", "ts"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("code",),),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "product":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope.data)
    return own_row(TABLE, envelope, "crm.product.created.v1", values)


def _created(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": data["code"],
        "name": data["name"],
        "model": data["model"],
        "specification": data["specification"],
        "status": "active",
        "retired_at": None,
        "created_at": data["at"],
    }


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


#: Per registered product event type, the columns it sets.
HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm.product.created.v1": _created,
    "crm.product.details_changed.v1": lambda d: dict(d["changes"]),
    "crm.product.retired.v1": lambda d: {"status": "retired", "retired_at": d["at"]},
    "crm.product.reactivated.v1": lambda d: {"status": "active", "retired_at": None},
}
