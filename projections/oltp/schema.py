"""Creates the operational tables; both the writer and the readers call it, so an API
started before any projector still answers (with 404s) instead of failing."""

from __future__ import annotations

from projections import positions
from projections.oltp import contacts
from projections.oltp.db import OltpDatabase


def ensure(db: OltpDatabase) -> None:
    conn = db.connect()
    try:
        with db.transaction(conn):
            positions.ensure(conn)
            for statement in contacts.ddl(db.types):
                conn.execute(statement)
    finally:
        conn.close()
