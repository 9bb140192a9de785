"""The ``contracts`` table: one row per contract, its party (an account or a contact), its
current term and value, and its status: active, terminated (with a reason, effective on a
day) or lapsed (its end passed without a renewal).

``renewal_deal_id`` is the renewal deal opened for the current term (none once the
contract is renewed, until the next term's deal is opened). The day the renewal falls due
(``renewal_days`` before the end) is worked out by readers, since an amendment may change
either of the two alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Patch, Table, column, own_row
from streams.envelope import Envelope

TABLE = Table(
    "contracts",
    (
        column("id", "uuid", True),
        column("account_id", "uuid"),
        column("contact_id", "uuid"),
        column("title", required=True),
        column("status", required=True),
        column("starts_on", "date", True),
        column("ends_on", "date", True),
        column("value", "decimal", True),
        column("currency", required=True),
        column("renewal_days", "int", True),
        column("renewal_deal_id", "uuid"),
        column("end_reason"),
        #: The day a terminated contract stops, or the last day of a lapsed one.
        column("ended_on", "date"),
        column("signed_at", "ts", True),
        column("ended_at", "ts"),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("account_id",), ("contact_id",), ("status", "ends_on")),
)


def project(envelope: Envelope) -> Patch | None:
    if envelope.aggregate_type != "contract":
        return None
    values = HANDLERS.get(envelope.type, _nothing)(envelope)
    return own_row(TABLE, envelope, "crm.contract.signed.v1", values)


def _signed(envelope: Envelope) -> dict[str, Any]:
    data = envelope.data
    return {
        "account_id": data["account_id"],
        "contact_id": data["contact_id"],
        "title": data["title"],
        "status": "active",
        "starts_on": data["starts_on"],
        "ends_on": data["ends_on"],
        "value": data["value"],
        "currency": data["currency"],
        "renewal_days": data["renewal_days"],
        "renewal_deal_id": None,
        "end_reason": None,
        "ended_on": None,
        "signed_at": data["at"],
        "ended_at": None,
    }


def _renewed(envelope: Envelope) -> dict[str, Any]:
    """The new term; the next term's renewal deal is still to be opened."""
    data = envelope.data
    return {
        "starts_on": data["starts_on"],
        "ends_on": data["ends_on"],
        "value": data["value"],
        "renewal_deal_id": None,
    }


def _nothing(envelope: Envelope) -> dict[str, Any]:
    return {}


#: Per registered contract event type, the columns it sets.
HANDLERS: dict[str, Callable[[Envelope], dict[str, Any]]] = {
    "crm.contract.signed.v1": _signed,
    "crm.contract.amended.v1": lambda e: dict(e.data["changes"]),
    "crm.contract.renewal_opened.v1": lambda e: {"renewal_deal_id": e.data["deal_id"]},
    "crm.contract.renewed.v1": _renewed,
    "crm.contract.terminated.v1": lambda e: {
        "status": "terminated",
        "end_reason": e.data["reason"],
        "ended_on": e.data["effective_on"],
        "ended_at": e.data["at"],
    },
    "crm.contract.lapsed.v1": lambda e: {"status": "lapsed", "ended_on": e.data["ended_on"], "ended_at": e.data["at"]},
}
