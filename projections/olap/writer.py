"""Loads events into DuckDB as Arrow batches, positions in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from projections import positions
from projections.olap import events
from streams.envelope import Envelope
from streams.records import Channel, Record


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path))


class OlapWriter:
    name = "olap"

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._conn = connection.cursor()
        self._conn.execute(positions.DDL)
        self._conn.execute(events.DDL)

    def positions(self) -> dict[Channel, int]:
        rows = self._conn.execute(positions.select_sql("?"), [self.name]).fetchall()
        return {(source, partition): position for source, partition, position in rows}

    def write(self, records: Sequence[Record]) -> None:
        # A redelivered event may sit twice in one batch; keep the first.
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for record in records:
            envelope = Envelope.from_json(record.value)
            rows.setdefault((envelope.subject, envelope.sequence), events.row(envelope))
        batch = events.to_arrow(list(rows.values()))
        conn = self._conn
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.register("incoming_events", batch)
            # Events already stored (a redelivery) are ignored by their (subject, sequence) key.
            conn.execute("INSERT OR IGNORE INTO events SELECT * FROM incoming_events")
            conn.unregister("incoming_events")
            conn.executemany(
                positions.upsert_sql("?"),
                positions.upsert_params(self.name, positions.last_offsets(list(records))),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
