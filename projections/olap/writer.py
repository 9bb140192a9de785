"""Loads events into DuckDB as Arrow batches, positions in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
        positions.ensure(self._conn)
        self._conn.execute(events.DDL)
        self._generation = 0

    def positions(self) -> dict[Channel, int]:
        self._generation, stored = positions.read(self._conn, "?", self.name)
        return stored

    def write(self, records: Sequence[Record], reject: Callable[[Record, Exception], None]) -> None:
        # A redelivered event may sit twice in one batch; keep the first.
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for record in records:
            try:
                envelope = Envelope.from_json(record.value)
                row = events.row(envelope)
            except Exception as exc:  # a poison event: set aside, the batch goes on
                reject(record, exc)
                continue
            rows.setdefault((envelope.subject, envelope.sequence), row)
        batch = events.to_arrow(list(rows.values()))
        conn = self._conn
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.register("incoming_events", batch)
            # Events already stored (a redelivery) are ignored by their (subject, sequence) key.
            conn.execute("INSERT OR IGNORE INTO events SELECT * FROM incoming_events")
            conn.unregister("incoming_events")
            positions.store(conn, "?", self.name, self._generation, records)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
