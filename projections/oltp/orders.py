"""The ``orders`` table: one row per order, its deal and quote, the lines and total it was
placed with (the accepted quote's, exactly), and its status: confirmed, fulfilled, or
cancelled with a reason. Readers compute the line and tax totals with the quote's rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "orders",
    (
        column("id", "uuid", True),
        column("deal_id", "uuid", True),
        column("quote_id", "uuid", True),
        column("quote_number", required=True),
        column("currency", required=True),
        column("lines", "json", True),
        column("total", "decimal", True),
        column("status", required=True),
        column("cancel_reason"),
        column("confirmed_at", "ts", True),
        column("fulfilled_at", "ts"),
        column("cancelled_at", "ts"),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("deal_id",), ("status",)),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "order":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope.data)
    return own_row(TABLE, envelope, "crm.order.confirmed.v1", values)


def _confirmed(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "deal_id": data["deal_id"],
        "quote_id": data["quote_id"],
        "quote_number": data["quote_number"],
        "currency": data["currency"],
        "lines": list(data["lines"]),
        "total": data["total"],
        "status": "confirmed",
        "cancel_reason": None,
        "confirmed_at": data["at"],
        "fulfilled_at": None,
        "cancelled_at": None,
    }


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


#: Per registered order event type, the columns it sets.
HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm.order.confirmed.v1": _confirmed,
    "crm.order.fulfilled.v1": lambda d: {"status": "fulfilled", "fulfilled_at": d["at"]},
    "crm.order.cancelled.v1": lambda d: {"status": "cancelled", "cancel_reason": d["reason"], "cancelled_at": d["at"]},
}
