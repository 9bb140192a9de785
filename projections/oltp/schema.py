"""Creates the operational tables; both the writer and the readers call it, so an API
started before any projector still answers (with 404s) instead of failing."""

from __future__ import annotations

from typing import Any

from projections import positions
from projections.oltp import contacts, duplicates
from projections.oltp.db import OltpDatabase
from projections.oltp.projection import TABLES


def table_names() -> list[str]:
    """The base names of every table of the operational model."""
    return [table.name for table in TABLES]


def ensure(db: OltpDatabase, suffix: str = "") -> None:
    """Creates the tables (and their indexes) named ``<base name><suffix>``. The base
    tables once per process: every reader calls this, and a rebuild only ever replaces
    them inside one transaction."""
    if not suffix and db.ensured:
        return
    conn = db.connect()
    try:
        with db.transaction(conn):
            positions.ensure(conn)
            for table in TABLES:
                create, *indexes = table.ddl(db.types, table.name + suffix)
                conn.execute(create)
                if table is contacts.TABLE:
                    _add_contact_keys(db, conn, table.name + suffix)
                for statement in indexes:
                    conn.execute(statement)
    finally:
        conn.close()
    if not suffix:
        db.ensured = True


def _add_contact_keys(db: OltpDatabase, conn: Any, table: str) -> None:
    """A contacts table created before the normalised keys existed gets them, filled in
    from the row's own name, email and phone."""
    have = {d[0] for d in conn.execute(f"SELECT * FROM {table} WHERE 1 = 0").description}
    missing = [c for c in ("email_key", "phone_key", "name_key") if c not in have]
    if not missing:
        return
    for name in missing:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} TEXT")
    rows = conn.execute(f"SELECT id, name, email, phone FROM {table}").fetchall()
    ph = db.ph
    db.executemany(
        conn,
        f"UPDATE {table} SET email_key = {ph}, phone_key = {ph}, name_key = {ph} WHERE id = {ph}",
        [
            (duplicates.email_key(email), duplicates.phone_key(phone), duplicates.name_key(name), contact_id)
            for contact_id, name, email, phone in rows
        ],
    )
