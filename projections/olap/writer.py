"""Loads events into the DuckDB warehouse as Arrow batches, positions in the same
transaction.

A batch is first projected purely, record by record (``events.row`` and ``rows.project``);
a record whose projection raises goes to ``reject`` and the batch goes on. Then, in ONE
transaction: the ``events`` fact, the state tables (the stored rows of the aggregates the
batch touches are read in one query per table, merged with the batch's patches by
``merge``, and written back with ``INSERT OR REPLACE``), the append-only facts
(``INSERT OR IGNORE``: a redelivered event's rows are already there), the calendar, and
the batch's positions. Nothing is written row by row.

The writer checkpoints the database itself, by the size of its write-ahead log (``_checkpoint``).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pyarrow as pa

from projections import positions
from projections.olap import events, merge, metrics, rows, schema
from projections.olap.rows import Change, Insert, Patch
from streams.log import LOG_CHANNEL
from streams.records import Channel, Record

log = logging.getLogger(__name__)

#: State tables: the column holding the aggregate id.
_STATE_KEYS = {
    "deals": "deal_id",
    "cases": "case_id",
    "dim_account": "account_id",
    "dim_campaign": "campaign_id",
    "dim_pipeline_stage": "pipeline_id",
    "dim_contact": "contact_id",
}
#: Written in this order, so that stage intervals find their deal's pipeline.
_STATE_ORDER = ("dim_pipeline_stage", "dim_contact", "dim_account", "dim_campaign", "deals", "cases")


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path))


#: The event-store position of the last event applied from each channel (a Kafka partition,
#: or the embedded log): every event of a channel up to its head is in the warehouse, so
#: the lowest head is a position through which the warehouse is complete.
CHANNEL_HEADS_DDL = """CREATE TABLE IF NOT EXISTS channel_heads (
    source VARCHAR NOT NULL,
    partition INTEGER NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (source, partition)
)"""


#: The write-ahead log's size at which the writer checkpoints (DuckDB's own default threshold).
CHECKPOINT_AT = 16 * 1024 * 1024
#: DuckDB's automatic checkpoint, kept as a backstop only. DuckDB checkpoints at a commit when
#: the log plus its estimate of the transaction pass this threshold, and it estimates every
#: table a transaction writes at far more than the rows written (20 tables of 300 rows each
#: count as more than 16 MiB): a batch in the event store's order, which interleaves every
#: aggregate type and so writes most of the warehouse's tables, checkpointed the whole
#: database at every commit (50 to 170 ms each at 50,000 events, more as the tables grow),
#: where the same events from Kafka, whose batches follow one topic, checkpointed every
#: eighth batch or so.
DUCKDB_CHECKPOINT_THRESHOLD = "1GiB"


def ensure_schema(conn: Any) -> None:
    """Every table (``CREATE TABLE IF NOT EXISTS``) and view (``CREATE OR REPLACE VIEW``)."""
    positions.ensure(conn)
    conn.execute(CHANNEL_HEADS_DDL)
    schema.ensure_tables(conn)
    for statement in metrics.view_statements(comments=True):
        conn.execute(statement)


class OlapWriter:
    """``write_lock`` (optional) is held around each transaction, so that a rebuild's switch
    in this process and the writer take turns."""

    name = "olap"

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, write_lock: AbstractContextManager[Any] | None = None
    ) -> None:
        # The DDL runs on the caller's connection, inside its transaction if it has one open
        # (a rebuild's switch recreates the tables it dropped), and under the lock, so that
        # a snapshot is never published halfway through it; the writer then works on a
        # cursor of its own.
        self._lock = write_lock if write_lock is not None else nullcontext()
        with self._lock:
            ensure_schema(connection)
            connection.execute(f"SET checkpoint_threshold = '{DUCKDB_CHECKPOINT_THRESHOLD}'")
            # fetchall: a result left pending keeps its transaction open, and DuckDB checkpoints
            # only while no other transaction writes.
            found = connection.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()
        # No path in memory: nothing to checkpoint.
        self._wal = f"{found[0][0]}.wal" if found and found[0][0] else None
        self._conn = connection.cursor()
        self._generation = 0

    def positions(self) -> dict[Channel, int]:
        self._generation, stored = positions.read(self._conn, "?", self.name)
        return stored

    def write(
        self, records: Sequence[Record], reject: Callable[[Record, Exception], None], skip: Collection[Record] = ()
    ) -> None:
        # A redelivered event may sit twice in one batch; keep the first.
        event_rows: dict[tuple[str, int], dict[str, Any]] = {}
        changes: list[Change] = []
        heads: dict[Channel, int] = {}
        for record in records:
            if record in skip:
                continue
            try:
                envelope = record.decoded()
                heads[record.channel] = envelope.position
                row = events.row(envelope)
                projected = rows.project(envelope)
            except Exception as exc:  # a poison event: set aside, the batch goes on
                reject(record, exc)
                continue
            if (envelope.subject, envelope.sequence) in event_rows:
                continue
            event_rows[(envelope.subject, envelope.sequence)] = row
            changes.extend(projected)
        conn = self._conn
        with self._lock:
            conn.execute("BEGIN TRANSACTION")
            try:
                # Events already stored (a redelivery) are ignored by their (subject, sequence) key.
                _insert(conn, "events", events.to_arrow(list(event_rows.values())), "INSERT OR IGNORE")
                apply(conn, changes)
                if heads:
                    # A projection follows the embedded log or Kafka's partitions, never both: after
                    # a rebuild replayed the other one, its heads say nothing of what comes next.
                    from_log = all(channel == LOG_CHANNEL for channel in heads)
                    conn.execute("DELETE FROM channel_heads WHERE (source = ?) <> ?", (LOG_CHANNEL[0], from_log))
                    conn.executemany(
                        "INSERT OR REPLACE INTO channel_heads VALUES (?, ?, ?)",
                        [(source, partition, position) for (source, partition), position in heads.items()],
                    )
                positions.store(conn, "?", self.name, self._generation, records)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Once the write-ahead log holds ``CHECKPOINT_AT`` bytes, writes it into the database
        file. The batch is committed already: a checkpoint that cannot run now (another
        connection writing) is left to the next batch, or to DuckDB's backstop."""
        if self._wal is None:
            return
        try:
            if os.path.getsize(self._wal) < CHECKPOINT_AT:
                return
        except FileNotFoundError:  # checkpointed: the log starts again when next written
            return
        try:
            self._conn.execute("CHECKPOINT")
        except duckdb.TransactionException as exc:
            log.info("olap checkpoint put off: %s", exc)

    def close(self) -> None:
        self._conn.close()


def apply(conn: Any, changes: Sequence[Change]) -> None:
    """Writes a batch's changes inside the caller's transaction."""
    patches: dict[str, dict[str, list[Patch]]] = defaultdict(lambda: defaultdict(list))
    inserts: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    for change in changes:
        if isinstance(change, Patch):
            patches[change.table][change.key].append(change)
        else:
            table = schema.TABLES[change.table]
            inserts[change.table].setdefault(tuple(change.row[k] for k in table.key), change.row)
    for name in _STATE_ORDER:
        if patches.get(name):
            _apply_patches(conn, name, patches[name])
    for name, by_key in inserts.items():
        if name == "deal_stage_intervals":
            _insert_intervals(conn, list(by_key.values()))
        else:
            table = schema.TABLES[name]
            _insert(conn, name, table.to_arrow(list(by_key.values())), "INSERT OR IGNORE", table.column_names)
    if "deals" in patches:
        _repair_interval_pipelines(conn, list(patches["deals"]))
    span = _date_span(changes)
    if span is not None:
        _extend_calendar(conn, *span)


def _apply_patches(conn: Any, name: str, by_key: dict[str, list[Patch]]) -> None:
    key_column = _STATE_KEYS[name]
    stored = _stored(conn, name, key_column, list(by_key))
    new_rows: list[dict[str, Any]] = []
    for key, patches in by_key.items():
        if name == "dim_contact":
            new_rows.extend(merge.merge_contact(key, stored.get(key), patches))
        elif name == "dim_pipeline_stage":
            new_rows.extend(merge.merge_pipeline(key, stored.get(key), patches))
        else:
            row = merge.merge_row(name, key_column, key, stored.get(key), patches)
            if row is not None:
                new_rows.append(row)
    if new_rows:
        table = schema.TABLES[name]
        _insert(conn, name, table.to_arrow(new_rows), "INSERT OR REPLACE", table.column_names)


def _stored(conn: Any, name: str, key_column: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The stored state of the given aggregates, one query: a row per key (the current
    version for dim_contact; the pipeline's name and sequence for dim_pipeline_stage)."""
    conn.register("batch_keys", pa.table({"key": pa.array(keys, pa.string())}))
    try:
        wanted = f"{key_column} IN (SELECT CAST(key AS UUID) FROM batch_keys)"
        if name == "dim_pipeline_stage":
            sql = (
                f"SELECT pipeline_id, max(pipeline_name) AS pipeline_name, max(sequence) AS sequence "
                f"FROM dim_pipeline_stage WHERE {wanted} GROUP BY pipeline_id"
            )
        elif name == "dim_contact":
            sql = f"SELECT * FROM dim_contact WHERE is_current AND {wanted}"
        else:
            sql = f"SELECT * FROM {name} WHERE {wanted}"
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description]
        found = [dict(zip(columns, (_from_duckdb(v) for v in row), strict=True)) for row in cursor.fetchall()]
    finally:
        conn.unregister("batch_keys")
    return {row[key_column]: row for row in found}


def _from_duckdb(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def _insert(conn: Any, name: str, batch: pa.Table, verb: str, columns: Iterable[str] | None = None) -> None:
    if batch.num_rows == 0:
        return
    listed = f" ({', '.join(columns)})" if columns is not None else ""
    conn.register("incoming_rows", batch)
    try:
        conn.execute(f"{verb} INTO {name}{listed} SELECT * FROM incoming_rows")
    finally:
        conn.unregister("incoming_rows")


def _insert_intervals(conn: Any, new_rows: list[dict[str, Any]]) -> None:
    """Stage intervals take their deal's pipeline (stored: the deal's creation always comes
    first in its own order); the views join deals anyway, so nothing depends on it."""
    table = schema.DEAL_STAGE_INTERVALS
    conn.register("incoming_rows", table.to_arrow(new_rows))
    try:
        selected = ", ".join(
            "COALESCE(CAST(i.pipeline_id AS UUID), d.pipeline_id)" if c == "pipeline_id" else f"i.{c}"
            for c in table.column_names
        )
        conn.execute(
            f"INSERT OR IGNORE INTO deal_stage_intervals ({', '.join(table.column_names)}) "
            f"SELECT {selected} FROM incoming_rows AS i LEFT JOIN deals AS d ON d.deal_id = CAST(i.deal_id AS UUID)"
        )
    finally:
        conn.unregister("incoming_rows")


def _repair_interval_pipelines(conn: Any, deal_ids: list[str]) -> None:
    """Intervals stored before their deal (only possible when the deal's creation was
    dead-lettered and replayed later) get its pipeline once it is known."""
    conn.register("batch_keys", pa.table({"key": pa.array(deal_ids, pa.string())}))
    try:
        conn.execute(
            "UPDATE deal_stage_intervals SET pipeline_id = d.pipeline_id FROM deals AS d "
            "WHERE deal_stage_intervals.deal_id = d.deal_id AND deal_stage_intervals.pipeline_id IS NULL "
            "AND d.pipeline_id IS NOT NULL AND d.deal_id IN (SELECT CAST(key AS UUID) FROM batch_keys)"
        )
    finally:
        conn.unregister("batch_keys")


def _date_span(changes: Sequence[Change]) -> tuple[date, date] | None:
    """The first and last day any date or time of the batch falls on."""
    low: date | None = None
    high: date | None = None
    for change in changes:
        values = change.row.values() if isinstance(change, Insert) else [change.at, *change.values.values()]
        for value in values:
            if isinstance(value, date):  # a datetime is a date too
                day = value.date() if isinstance(value, datetime) else value
                if low is None or day < low:
                    low = day
                if high is None or day > high:
                    high = day
    return (low, high) if low is not None and high is not None else None


def _extend_calendar(conn: Any, first: date, last: date) -> None:
    """dim_date covers whole months from the earliest to the latest day in the facts."""
    low, high = conn.execute("SELECT min(date), max(date) FROM dim_date").fetchone()
    if low is not None and low <= first and last <= high:
        return
    start = min(first, low) if low is not None else first
    end = max(last, high) if high is not None else last
    next_month = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
    conn.execute(schema.calendar_sql(start.replace(day=1).isoformat(), (next_month - timedelta(days=1)).isoformat()))
