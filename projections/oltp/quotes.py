"""Quotes: ``quotes`` (one row per quote: its deal, number, current revision and status)
and ``quote_lines`` (one row per line ever added; a removed line keeps its row, marked, so
that a redelivered ``line_added`` changes nothing). The current revision's lines are the
quote's rows not removed; a revision keeps the lines of the one before it.

Totals are not stored: readers compute them from the lines with the quote's own rule
(``domain.quote.totals_of``), so a draft's totals are as right as a sent one's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Change, Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "quotes",
    (
        column("id", "uuid", True),
        column("deal_id", "uuid", True),
        column("number", required=True),
        column("revision", "int", True),
        column("status", required=True),
        column("currency", required=True),
        column("price_list_id", "uuid", True),
        column("valid_until", "date", True),
        column("sent_at", "ts"),
        #: When the current revision was accepted, rejected or expired.
        column("answered_at", "ts"),
        column("reject_reason"),
        column("order_id", "uuid"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("deal_id",), ("status",)),
)

LINES = Table(
    "quote_lines",
    (
        column("id", "uuid", True),
        column("quote_id", "uuid", True),
        #: The quote's version that added the line: lines are listed in that order.
        column("added_in", "int", True),
        column("product_id", "uuid", True),
        column("code", required=True),
        column("description", required=True),
        column("quantity", "decimal", True),
        column("unit_price", "decimal", True),
        column("discount", "decimal", True),
        column("tax_rate", "decimal", True),
        column("removed", "bool", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("quote_id",),),
)

TABLES = (TABLE, LINES)

#: A revision just sent, or a new one opened as a draft, has no answer yet.
_UNANSWERED: dict[str, Any] = {"sent_at": None, "answered_at": None, "reject_reason": None}

#: The columns of ``quotes`` an event sets, and the line rows it writes.
Changes = tuple[dict[str, Any], list[Change]]


def project(envelope: Envelope) -> list[Change]:
    if envelope.aggregate_type != "quote":
        return []
    handler = HANDLERS.get(envelope.type)
    values, lines = handler(envelope) if handler is not None else ({}, [])
    return [own_row(TABLE, envelope, "crm.quote.created.v1", values), *lines]


def _created(envelope: Envelope) -> Changes:
    data = envelope.data
    values = {
        "deal_id": data["deal_id"],
        "number": data["number"],
        "revision": 1,
        "status": "draft",
        "currency": data["currency"],
        "price_list_id": data["price_list_id"],
        "valid_until": data["valid_until"],
        "sent_at": None,
        "answered_at": None,
        "reject_reason": None,
        "order_id": None,
        "created_at": data["at"],
    }
    return values, []


def _line_added(envelope: Envelope) -> Changes:
    line = envelope.data["line"]
    row = {
        "quote_id": envelope.subject,
        "added_in": envelope.sequence,
        "product_id": line["product_id"],
        "code": line["code"],
        "description": line["description"],
        "quantity": line["quantity"],
        "unit_price": line["unit_price"],
        "discount": line["discount"],
        "tax_rate": line["tax_rate"],
        "removed": False,
    }
    return {}, [Patch(LINES.name, line["line_id"], envelope.sequence, envelope.position, True, row)]


def _line_removed(envelope: Envelope) -> Changes:
    line_id = envelope.data["line_id"]
    return {}, [Patch(LINES.name, line_id, envelope.sequence, envelope.position, False, {"removed": True})]


def _sent(envelope: Envelope) -> Changes:
    data = envelope.data
    values = {
        **_UNANSWERED,
        "status": "sent",
        "revision": data["revision"],
        "valid_until": data["valid_until"],
        "sent_at": data["at"],
    }
    return values, []


def _answered(status: str) -> Callable[[Envelope], Changes]:
    def values(envelope: Envelope) -> Changes:
        return {"status": status, "revision": envelope.data["revision"], "answered_at": envelope.data["at"]}, []

    return values


#: Per registered quote event type, its changes.
HANDLERS: dict[str, Callable[[Envelope], Changes]] = {
    "crm.quote.created.v1": _created,
    "crm.quote.line_added.v1": _line_added,
    "crm.quote.line_removed.v1": _line_removed,
    "crm.quote.validity_changed.v1": lambda e: ({"valid_until": e.data["valid_until"]}, []),
    "crm.quote.sent.v1": _sent,
    "crm.quote.revised.v1": lambda e: ({**_UNANSWERED, "status": "draft", "revision": e.data["revision"]}, []),
    "crm.quote.accepted.v1": _answered("accepted"),
    "crm.quote.rejected.v1": lambda e: ({**_answered("rejected")(e)[0], "reject_reason": e.data["reason"]}, []),
    "crm.quote.expired.v1": _answered("expired"),
    "crm.quote.ordered.v1": lambda e: ({"order_id": e.data["order_id"]}, []),
}
