"""Campaigns: ``campaigns`` (one row per campaign: audience, status, running totals),
``campaign_sends`` (one row per contact a campaign was sent to) and
``campaign_responses`` (one row per contact and response type). Readers count the
responses per type; a redelivered send or response is ignored by its primary key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Change, Row, Table, column, own_row
from streams.envelope import Envelope, format_time

TABLE = Table(
    "campaigns",
    (
        column("id", "uuid", True),
        column("name", required=True),
        column("channel", required=True),
        column("audience", "json", True),
        column("owner"),
        column("status", required=True),
        column("sent_count", "int", True),
        column("responses_total", "int", True),
        column("launched_at", "ts"),
        column("completed_at", "ts"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
)

SENDS = Table(
    "campaign_sends",
    (
        column("campaign_id", "uuid", True),
        column("contact_id", "uuid", True),
        column("sequence", "int", True),
        column("sent_at", "ts", True),
        column("actor", required=True),
        column("position", "bigint", True),
    ),
    key=("campaign_id", "contact_id"),
    indexes=(("contact_id",),),
    versioned=False,
)

RESPONSES = Table(
    "campaign_responses",
    (
        column("campaign_id", "uuid", True),
        column("contact_id", "uuid", True),
        column("response", required=True),
        column("responded_at", "ts", True),
        column("position", "bigint", True),
    ),
    key=("campaign_id", "contact_id", "response"),
    versioned=False,
)

TABLES = (TABLE, SENDS, RESPONSES)


#: The columns of ``campaigns`` an event sets, and the rows of the other tables it adds.
Changes = tuple[dict[str, Any], list[Change]]


def project(envelope: Envelope) -> list[Change]:
    if envelope.aggregate_type != "campaign":
        return []
    handler = HANDLERS.get(envelope.type)
    values, rows = handler(envelope) if handler is not None else ({}, [])
    patch = own_row(TABLE, envelope, "crm.campaign.created.v1", values)
    return [patch, *rows]


def _created(envelope: Envelope) -> Changes:
    data = envelope.data
    values = {
        "name": data["name"],
        "channel": data["channel"],
        "audience": data["audience"],
        "owner": data["owner"],
        "status": data["status"],
        "sent_count": 0,
        "responses_total": 0,
        "launched_at": None,
        "completed_at": None,
        "created_at": format_time(envelope.time),
    }
    return values, []


def _sent(envelope: Envelope) -> Changes:
    data = envelope.data
    sends: list[Change] = [
        Row(
            SENDS.name,
            {
                "campaign_id": envelope.subject,
                "contact_id": contact_id,
                "sequence": envelope.sequence,
                "sent_at": data["at"],
                "actor": envelope.actor,
                "position": envelope.position,
            },
        )
        for contact_id in data["contact_ids"]
    ]
    return {"sent_count": data["sent_total"]}, sends


def _response_recorded(envelope: Envelope) -> Changes:
    data = envelope.data
    response = {
        "campaign_id": envelope.subject,
        "contact_id": data["contact_id"],
        "response": data["response"],
        "responded_at": data["at"],
        "position": envelope.position,
    }
    return {"responses_total": data["responses_total"]}, [Row(RESPONSES.name, response)]


#: Per registered campaign event type, its changes.
HANDLERS: dict[str, Callable[[Envelope], Changes]] = {
    "crm.campaign.created.v1": _created,
    "crm.campaign.audience_changed.v1": lambda e: ({"audience": e.data["audience"]}, []),
    "crm.campaign.launched.v1": lambda e: ({"status": "running", "launched_at": e.data["at"]}, []),
    "crm.campaign.completed.v1": lambda e: ({"status": "completed", "completed_at": e.data["at"]}, []),
    "crm.campaign.sent.v1": _sent,
    "crm.campaign.response_recorded.v1": _response_recorded,
}
