"""The ``deals`` table: one row per deal, its current stage, status and amount. Once the
deal has orders, its amount is their total (``crm.deal.orders_changed.v1``), whatever its
status, and ``orders`` counts those that stand.

A deal names its pipeline and its contact or account; readers join those at read time
(and take the stage's current win probability from the pipeline), so a deal projected
before its pipeline or its contact loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "deals",
    (
        column("id", "uuid", True),
        column("pipeline_id", "uuid", True),
        column("title", required=True),
        column("contact_id", "uuid"),
        column("account_id", "uuid"),
        column("amount", "decimal"),
        column("currency", required=True),
        column("owner"),
        column("expected_close_on", "date"),
        column("stage", required=True),
        #: The probability the deal's event recorded; readers prefer the pipeline's current one.
        column("probability", "real", True),
        column("status", required=True),
        column("closed_on", "date"),
        column("lost_reason"),
        column("stage_entered_at", "ts", True),
        column("closed_at", "ts"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
        # Added by the schema's second version (``schema.steps``): new columns go last.
        column("orders", "int", True),
    ),
    indexes=(("pipeline_id", "stage"), ("contact_id",), ("account_id",), ("owner",)),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "deal":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope.data)
    return own_row(TABLE, envelope, "crm.deal.created.v1", values)


def _created(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipeline_id": data["pipeline_id"],
        "title": data["title"],
        "contact_id": data["contact_id"],
        "account_id": data["account_id"],
        "amount": data["amount"],
        "currency": data["currency"],
        "owner": data["owner"],
        "expected_close_on": data["expected_close_on"],
        "stage": data["stage"],
        "probability": data["probability"],
        "status": "open",
        "closed_on": None,
        "lost_reason": None,
        "stage_entered_at": data["at"],
        "closed_at": None,
        "created_at": data["at"],
        "orders": 0,
    }


def _won(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": "won",
        "status": "won",
        "probability": 1.0,
        "amount": data["amount"],
        "currency": data["currency"],
        "closed_on": data["closed_on"],
        "stage_entered_at": data["at"],
        "closed_at": data["at"],
    }


def _lost(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": "lost",
        "status": "lost",
        "probability": 0.0,
        "lost_reason": data["reason"],
        "stage_entered_at": data["at"],
        "closed_at": data["at"],
    }


def _reopened(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "stage": data["to_stage"],
        "status": "open",
        "probability": data["probability"],
        "closed_on": None,
        "lost_reason": None,
        "stage_entered_at": data["at"],
        "closed_at": None,
    }


def _nothing(data: dict[str, Any]) -> dict[str, Any]:
    return {}


#: Per registered deal event type, the columns it sets.
HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm.deal.created.v1": _created,
    "crm.deal.stage_changed.v1": lambda d: {
        "stage": d["to_stage"],
        "probability": d["probability"],
        "stage_entered_at": d["at"],
    },
    "crm.deal.won.v1": _won,
    "crm.deal.lost.v1": _lost,
    "crm.deal.reopened.v1": _reopened,
    "crm.deal.details_changed.v1": lambda d: dict(d["changes"]),
    "crm.deal.orders_changed.v1": lambda d: {"amount": d["amount"], "orders": d["orders"]},
}
