"""One small seam over the two SQL databases the operational read model runs on.

Everything else writes portable SQL; this module knows the placeholders, the column types
and how each driver opens a transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import migrations
from dsn import parse

#: Seconds to wait for a connection: no read or write waits without a deadline.
CONNECT_TIMEOUT = 5


class OltpDatabase:
    """``sqlite:///path/read.sqlite`` or ``postgresql://user:pass@host:port/db``."""

    def __init__(self, dsn: str) -> None:
        parsed = parse(dsn, "OLTP DSN")
        self.dsn = dsn
        if parsed.kind == "sqlite":
            assert parsed.path is not None
            self.kind = "sqlite"
            self.path = parsed.path
            self.ph = "?"
            # Amounts as text: exact, and summed as Decimal by the readers.
            self.types = {
                "uuid": "TEXT",
                "ts": "TEXT",
                "json": "TEXT",
                "decimal": "TEXT",
                "date": "TEXT",
                "real": "REAL",
            }
        else:
            self.kind = "postgresql"
            self.ph = "%s"
            self.types = {
                "uuid": "UUID",
                "ts": "TIMESTAMPTZ",
                "json": "JSONB",
                "decimal": "NUMERIC",
                "date": "DATE",
                "real": "DOUBLE PRECISION",
            }
        self._pool: Any = None
        self._pool_made = threading.Lock()
        #: Set once this process made sure the base tables exist (``schema.ensure``).
        self.ensured = False

    def connect(self) -> Any:
        """A new connection in autocommit mode; use ``transaction`` to group writes."""
        if self.kind == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            migrations.use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)

    @contextmanager
    def transaction(self, conn: Any) -> Iterator[Any]:
        if self.kind == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A connection for one read: pooled for PostgreSQL, fresh for SQLite."""
        if self.kind == "sqlite":
            conn = self.connect()
            try:
                yield conn
            finally:
                conn.close()
            return
        with self._pool_made:  # threads asking at once must not each make (and leak) a pool
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                # A bounded wait for a connection, and none handed out that died with the server.
                self._pool = ConnectionPool(
                    self.dsn,
                    min_size=1,
                    max_size=8,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                    timeout=CONNECT_TIMEOUT,
                    check=ConnectionPool.check_connection,
                    open=True,
                )
            pool = self._pool
        with pool.connection() as conn:
            yield conn

    def executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            conn.executemany(sql, rows)
        else:
            with conn.cursor() as cur:
                cur.executemany(sql, rows)

    def json_list_has(self, column: str) -> str:
        """A condition with one placeholder: the JSON list in ``column`` holds that text."""
        if self.kind == "sqlite":
            return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"
        return f"{column} @> jsonb_build_array(%s::text)"

    def days_before(self, day: str, days: str) -> str:
        """An expression: the date in column ``day`` less the whole days in column ``days``,
        comparable with a date given as ``YYYY-MM-DD``."""
        if self.kind == "sqlite":
            return f"date({day}, '-' || {days} || ' days')"
        return f"({day} - {days})"

    def close(self) -> None:
        with self._pool_made:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
