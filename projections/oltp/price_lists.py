"""Price lists: ``price_lists`` (one row per list: name, currency, validity) and
``price_list_prices`` (one row per list and product: the price that holds now, and the one
before it). A removed price keeps its row, without a price, so that a redelivered older
``price_set`` finds a newer version there and changes nothing.

A price row's id is derived from its list and product (``price_id``) and versioned by the
list's events, like every row patched forward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from projections.oltp.rows import Change, Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "price_lists",
    (
        column("id", "uuid", True),
        column("name", required=True),
        column("currency", required=True),
        column("valid_from", "date", True),
        column("valid_until", "date"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
)

PRICES = Table(
    "price_list_prices",
    (
        column("id", "uuid", True),
        column("price_list_id", "uuid", True),
        column("product_id", "uuid", True),
        #: None once the price was removed from the list.
        column("unit_price", "decimal"),
        column("previous_price", "decimal"),
        column("changed_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("price_list_id",), ("product_id",)),
)

TABLES = (TABLE, PRICES)


def price_id(price_list_id: str, product_id: str) -> str:
    return str(uuid5(NAMESPACE_URL, f"urn:eventcrm:price:{price_list_id}:{product_id}"))


def project(envelope: Envelope) -> list[Change]:
    if envelope.aggregate_type != "price_list":
        return []
    handler = HANDLERS.get(envelope.type)
    values, prices = handler(envelope) if handler is not None else ({}, [])
    return [own_row(TABLE, envelope, "crm.price_list.created.v1", values), *prices]


#: The columns of ``price_lists`` an event sets, and the price rows it writes.
Changes = tuple[dict[str, Any], list[Change]]


def _created(envelope: Envelope) -> Changes:
    data = envelope.data
    values = {
        "name": data["name"],
        "currency": data["currency"],
        "valid_from": data["valid_from"],
        "valid_until": data["valid_until"],
        "created_at": data["at"],
    }
    return values, []


def _price(envelope: Envelope, unit_price: str | None) -> Changes:
    """The whole price row, as of this event: written over any older version of it."""
    data = envelope.data
    row = {
        "price_list_id": envelope.subject,
        "product_id": data["product_id"],
        "unit_price": unit_price,
        "previous_price": data["previous_price"],
        "changed_at": data["at"],
    }
    key = price_id(envelope.subject, data["product_id"])
    return {}, [Patch(PRICES.name, key, envelope.sequence, envelope.position, True, row)]


#: Per registered price list event type, its changes.
HANDLERS: dict[str, Callable[[Envelope], Changes]] = {
    "crm.price_list.created.v1": _created,
    "crm.price_list.price_set.v1": lambda e: _price(e, e.data["unit_price"]),
    "crm.price_list.price_removed.v1": lambda e: _price(e, None),
    "crm.price_list.validity_changed.v1": lambda e: (
        {"valid_from": e.data["valid_from"], "valid_until": e.data["valid_until"]},
        [],
    ),
}
