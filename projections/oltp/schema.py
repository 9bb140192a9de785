"""Creates the operational tables; both the writer and the readers call it, so an API
started before any projector still answers (with 404s) instead of failing.

The tables are a versioned component (``migrations``): however many processes start at
once, one creates them and the others find them made. A change to a table is a new step
appended to ``steps``."""

from __future__ import annotations

from typing import Any

import migrations
from projections import positions
from projections.oltp import (
    activities,
    agents,
    cases,
    contacts,
    contracts,
    deals,
    duplicates,
    orders,
    price_lists,
    products,
    quotes,
)
from projections.oltp.db import OltpDatabase
from projections.oltp.projection import TABLES
from projections.oltp.rows import Table

#: A rebuild's suffixed tables are a component of their own (``oltp<suffix>``), made by
#: the same steps; its switch hands their record over to this one.
COMPONENT = "oltp"


def table_names() -> list[str]:
    """The base names of every table of the operational model."""
    return [table.name for table in TABLES]


def steps(db: OltpDatabase, suffix: str = "") -> list[migrations.Step]:
    """The schema's versions, oldest first, for the tables named ``<base name><suffix>``."""
    return [
        migrations.Step(1, "every table and index", lambda conn: _create_tables(db, conn, suffix)),
        migrations.Step(
            2,
            "sales and service: catalog, quotes, orders, contracts, activities, agents",
            lambda conn: _sales(db, conn, suffix),
        ),
    ]


#: The tables the second version added, and the columns it added to older tables (with
#: what the rows already there hold in them: no event of theirs could have said more).
SALES_TABLES: tuple[Table, ...] = (
    products.TABLE,
    *price_lists.TABLES,
    *quotes.TABLES,
    orders.TABLE,
    contracts.TABLE,
    *activities.TABLES,
    agents.TABLE,
)
SALES_COLUMNS: tuple[tuple[Table, str, str | None], ...] = (
    (cases.TABLE, "skill", None),
    (cases.TABLE, "duplicate_of", None),
    (deals.TABLE, "orders", "0"),
)


def _sales(db: OltpDatabase, conn: Any, suffix: str) -> None:
    """A database made by the first version gets the new tables and columns; a new one
    has them from the first step already, and is left as it is."""
    for table in SALES_TABLES:
        for statement in table.ddl(db.types, table.name + suffix):
            conn.execute(statement)
    for table, name, value in SALES_COLUMNS:
        physical = table.name + suffix
        have = {d[0] for d in conn.execute(f"SELECT * FROM {physical} WHERE 1 = 0").description}
        if name not in have:
            [column] = [c for c in table.columns if c.name == name]
            default = "" if value is None else f" DEFAULT {value}"
            conn.execute(f"ALTER TABLE {physical} ADD COLUMN {column.definition(db.types)}{default}")


def ensure(db: OltpDatabase, suffix: str = "") -> None:
    """Brings the tables named ``<base name><suffix>`` (and the projections' positions) to
    the newest version. The base tables once per process: every reader calls this, and a
    rebuild only ever replaces them inside one transaction."""
    if not suffix and db.ensured:
        return
    conn = db.connect()
    try:
        positions.migrate(conn)
        migrations.migrate(conn, COMPONENT + suffix, steps(db, suffix))
    finally:
        conn.close()
    if not suffix:
        db.ensured = True


def _create_tables(db: OltpDatabase, conn: Any, suffix: str) -> None:
    for table in TABLES:
        create, *indexes = table.ddl(db.types, table.name + suffix)
        conn.execute(create)
        if table is contacts.TABLE:
            # Before the indexes: some of them cover these columns.
            _add_contact_keys(db, conn, table.name + suffix)
        for statement in indexes:
            conn.execute(statement)


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
