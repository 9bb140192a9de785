"""The warehouse as Parquet, for engines bigger than one machine (Spark, Trino, BigQuery,
DuckDB itself): every fact partitioned by year and month of its business date
(``<table>/year=2026/month=3/data_0.parquet``, Hive style), every dimension as one file
(``<table>.parquet``). One read transaction, so all files show the same moment.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projections.olap import schema


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    path: Path
    partitioned: bool


def export_parquet(conn: Any, directory: Path | str) -> list[Exported]:
    """Writes every fact and dimension under ``directory`` (replacing an earlier export's
    files of the same tables). ``conn`` may be read-only."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    facts = [("events", schema.EVENTS_PARTITION_BY), *((t.name, t.partition_by or "NULL") for t in schema.FACTS)]
    done: list[Exported] = []
    conn.execute("BEGIN TRANSACTION")
    try:
        for name, column in facts:
            path = target / name
            shutil.rmtree(path, ignore_errors=True)
            rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            # Hive partitions by the business date's year and month; a row without one goes
            # to year=NULL/month=NULL.
            conn.execute(
                f"COPY (SELECT *, year({column}) AS year, month({column}) AS month FROM {name}) "
                f"TO '{_sql_path(path)}' (FORMAT parquet, PARTITION_BY (year, month))"
            )
            done.append(Exported(name, rows, path, True))
        for table in schema.DIMENSIONS:
            path = target / f"{table.name}.parquet"
            rows = conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]
            conn.execute(f"COPY {table.name} TO '{_sql_path(path)}' (FORMAT parquet)")
            done.append(Exported(table.name, rows, path, False))
    finally:
        conn.execute("COMMIT")
    return done


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
