"""Where each projection got to, stored beside its rows and changed in the same
transaction. The SQL is the same in PostgreSQL, SQLite and DuckDB but for placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.records import Channel, Record

DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    partition INTEGER NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (projection, source, partition)
)
"""


def upsert_sql(ph: str) -> str:
    return (
        "INSERT INTO projection_positions (projection, source, partition, position) "
        f"VALUES ({ph}, {ph}, {ph}, {ph}) "
        "ON CONFLICT (projection, source, partition) DO UPDATE SET position = excluded.position"
    )


def select_sql(ph: str) -> str:
    return f"SELECT source, partition, position FROM projection_positions WHERE projection = {ph}"


def last_offsets(records: list[Record]) -> dict[Channel, int]:
    """The highest offset per channel in a batch."""
    last: dict[Channel, int] = {}
    for record in records:
        if record.offset > last.get(record.channel, -1):
            last[record.channel] = record.offset
    return last


def upsert_params(projection: str, positions: Mapping[Channel, int]) -> list[tuple[Any, ...]]:
    return [(projection, source, partition, offset) for (source, partition), offset in positions.items()]
