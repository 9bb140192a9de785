"""The ``events`` fact table: one typed row per event, personal fields left out.

``row`` is pure; the writer turns many rows into one Arrow batch.

``business_time`` is when the event happened: its data's ``occurred_at`` (interactions) or
``at``, else the time it was recorded. It is typed so that reading the warehouse as of an
instant (``projections.olap.as_of``) never parses ``data`` to tell which events count.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from domain.contact import PERSONAL_FIELDS
from projections.olap import rows
from streams.envelope import Envelope, parse_time

DDL = """
CREATE TABLE IF NOT EXISTS events (
    subject UUID NOT NULL,
    sequence INTEGER NOT NULL,
    event_id UUID NOT NULL,
    position BIGINT NOT NULL,
    aggregate_type VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    correlation_id VARCHAR NOT NULL,
    causation_id VARCHAR NOT NULL,
    interaction_type VARCHAR,
    occurred_at TIMESTAMP,
    points INTEGER,
    lead_score INTEGER,
    data JSON,
    business_time TIMESTAMP,
    PRIMARY KEY (subject, sequence)
)
"""

#: ``business_time`` from the other columns: fills it in a table made before it had one.
BUSINESS_TIME_SQL = (
    "COALESCE(occurred_at, make_timestamp(epoch_us(CAST(json_extract_string(data, '$.at') AS TIMESTAMPTZ))), time)"
)

SCHEMA = pa.schema(
    [
        ("subject", pa.string()),
        ("sequence", pa.int32()),
        ("event_id", pa.string()),
        ("position", pa.int64()),
        ("aggregate_type", pa.string()),
        ("type", pa.string()),
        ("time", pa.timestamp("us")),
        ("actor", pa.string()),
        ("correlation_id", pa.string()),
        ("causation_id", pa.string()),
        ("interaction_type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("points", pa.int32()),
        ("lead_score", pa.int32()),
        ("data", pa.string()),
        ("business_time", pa.timestamp("us")),
    ]
)


def row(envelope: Envelope) -> dict[str, Any]:
    data = envelope.data
    occurred_at = data.get("occurred_at")
    happened = occurred_at or data.get("at")
    return {
        "subject": envelope.subject,
        "sequence": envelope.sequence,
        "event_id": envelope.id,
        "position": envelope.position,
        "aggregate_type": envelope.aggregate_type,
        "type": envelope.type,
        "time": envelope.time,
        "actor": envelope.actor,
        "correlation_id": envelope.correlationid,
        "causation_id": envelope.causationid,
        "interaction_type": data.get("interaction_type"),
        "occurred_at": parse_time(occurred_at) if occurred_at else None,
        "points": data.get("points"),
        "lead_score": data.get("lead_score"),
        "data": json.dumps(_without_personal_data(data)),
        "business_time": parse_time(happened) if happened else envelope.time,
    }


#: Fields that identify a person or hold free text typed about one (case and activity
#: subjects, resolutions, activity outcomes, deal and contract titles, reasons, a contact's
#: company and job title, an account's name and domain, the digest a repeated case's subject
#: is recognised by): none of them reaches the warehouse.
LEFT_OUT = PERSONAL_FIELDS | {
    "subject",
    "resolution",
    "outcome",
    "title",
    "company",
    "domain",
    "reason",
    "source",
    "digest",
}


def _without_personal_data(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in data.items() if k not in LEFT_OUT}
    if isinstance(cleaned.get("changes"), dict):
        cleaned["changes"] = {k: v for k, v in cleaned["changes"].items() if k not in LEFT_OUT}
    details = data.get("details")
    if isinstance(details, dict):
        # Interaction details the warehouse keeps: ids and numbers, never text.
        kept: dict[str, Any] = {
            "campaign_id": rows.as_uuid(details.get("campaign_id")),
            "nps": rows.score(details.get("nps"), 0, 10),
            "ces": rows.score(details.get("ces"), 1, 7),
            "amount": rows.money(details.get("amount")),
        }
        kept = {k: (str(v) if k == "amount" else v) for k, v in kept.items() if v is not None}
        if kept:
            cleaned["details"] = kept
    return cleaned


def to_arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """Times are stored as UTC without a zone, like every time in the warehouse. Built
    column by column: no row is copied on the way."""
    columns = {}
    for name in SCHEMA.names:
        values = [r[name] for r in rows]
        columns[name] = [_naive(v) for v in values] if name in _TIMES else values
    return pa.Table.from_pydict(columns, schema=SCHEMA)


_TIMES = frozenset({"time", "occurred_at", "business_time"})


def upgrade(conn: Any) -> None:
    """Gives an ``events`` table made before ``business_time`` the column, filled."""
    columns = conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'events'"
    ).fetchall()
    if ("business_time",) not in columns:
        conn.execute("ALTER TABLE events ADD COLUMN business_time TIMESTAMP")
        conn.execute(f"UPDATE events SET business_time = {BUSINESS_TIME_SQL}")


def _naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment is not None and moment.tzinfo else moment
