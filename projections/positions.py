"""Where each projection got to, stored beside its rows and changed in the same
transaction. The SQL is the same in PostgreSQL, SQLite and DuckDB but for placeholders.

A projection's *generation* changes when a rebuild replaces its tables. Every write checks,
inside its transaction, that the generation is still the one its writer started from; if a
rebuild switched in between, the write is refused (``PositionsMoved``) and the runner
resumes from the rebuilt tables' positions. So there is only ever one lineage of rows and
positions, whoever writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import migrations
from streams.records import Channel, Record

DDL = [
    """CREATE TABLE IF NOT EXISTS projection_positions (
        projection VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        partition INTEGER NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (projection, source, partition)
    )""",
    """CREATE TABLE IF NOT EXISTS projection_generations (
        projection VARCHAR PRIMARY KEY,
        generation INTEGER NOT NULL
    )""",
]


class PositionsMoved(Exception):
    """A rebuild replaced the projection's tables since this writer read its positions."""


def ensure(conn: Any) -> None:
    """Creates the tables if missing; on DuckDB, where one process writes a file, this is
    enough. PostgreSQL and SQLite, shared by processes starting together, use ``migrate``."""
    for statement in DDL:
        conn.execute(statement)


#: Its own component, not a step of each projection's: the operational projector and the
#: automations keep their positions in these tables, sometimes in one database.
COMPONENT = "projection_positions"
STEPS = [migrations.Step(1, "projection_positions and projection_generations", ensure)]


def migrate(conn: Any) -> int:
    """Creates the tables once, under the migration lock (``migrations``)."""
    return migrations.migrate(conn, COMPONENT, STEPS)


def read(conn: Any, ph: str, projection: str) -> tuple[int, dict[Channel, int]]:
    """The projection's generation and its last offset per channel. Makes sure the
    generation row exists, so that a rebuild's switch and a write can lock it."""
    conn.execute(
        f"INSERT INTO projection_generations (projection, generation) VALUES ({ph}, 0) "
        "ON CONFLICT (projection) DO NOTHING",
        (projection,),
    )
    return peek(conn, ph, projection)


def peek(conn: Any, ph: str, projection: str) -> tuple[int, dict[Channel, int]]:
    """``read`` without writing anything: for read-only copies."""
    row = conn.execute(
        f"SELECT generation FROM projection_generations WHERE projection = {ph}", (projection,)
    ).fetchone()
    rows = conn.execute(
        f"SELECT source, partition, position FROM projection_positions WHERE projection = {ph}", (projection,)
    ).fetchall()
    return (row[0] if row else 0), {(source, partition): position for source, partition, position in rows}


def store(conn: Any, ph: str, projection: str, generation: int, records: Sequence[Record], lock: str = "") -> None:
    """Inside the writer's transaction: checks the generation, then stores the batch's
    positions. ``lock`` is ``" FOR UPDATE"`` on PostgreSQL, so that a rebuild's switch and
    this write take turns."""
    row = conn.execute(
        f"SELECT generation FROM projection_generations WHERE projection = {ph}{lock}", (projection,)
    ).fetchone()
    if (row[0] if row else 0) != generation:
        raise PositionsMoved(f"{projection} was rebuilt; resuming from the rebuilt positions")
    for (source, partition), offset in last_offsets(records).items():
        conn.execute(
            "INSERT INTO projection_positions (projection, source, partition, position) "
            f"VALUES ({ph}, {ph}, {ph}, {ph}) "
            "ON CONFLICT (projection, source, partition) DO UPDATE SET position = excluded.position",
            (projection, source, partition, offset),
        )


def hand_over(conn: Any, ph: str, rebuilt: str, live: str) -> int:
    """Inside the rebuild's switch transaction: the live projection takes the rebuilt one's
    positions and a new generation. Answers the new generation."""
    conn.execute(f"DELETE FROM projection_positions WHERE projection = {ph}", (live,))
    conn.execute(f"UPDATE projection_positions SET projection = {ph} WHERE projection = {ph}", (live, rebuilt))
    row = conn.execute(f"SELECT generation FROM projection_generations WHERE projection = {ph}", (live,)).fetchone()
    generation = (row[0] if row else 0) + 1
    conn.execute(f"DELETE FROM projection_generations WHERE projection = {ph}", (live,))
    conn.execute(f"INSERT INTO projection_generations VALUES ({ph}, {ph})", (live, generation))
    conn.execute(f"DELETE FROM projection_generations WHERE projection = {ph}", (rebuilt,))
    return generation


def last_offsets(records: Sequence[Record]) -> dict[Channel, int]:
    """The highest offset per channel in a batch."""
    last: dict[Channel, int] = {}
    for record in records:
        if record.offset > last.get(record.channel, -1):
            last[record.channel] = record.offset
    return last


def lag(positions: Mapping[Channel, int], ends: Mapping[Channel, int]) -> int:
    """How many records are still to come, given each channel's last offset."""
    return sum(max(end - positions.get(channel, -1) - 1, 0) for channel, end in ends.items())
