"""``crm sql``: read-only SQL over the warehouse, from any shell, while it is projected.

Queries run on the newest published snapshot (``projections.olap.snapshots``), which is
read-only; statements other than queries are refused before they run, with the reason,
so that nobody mistakes the refusal for a fault. ``--as-of`` reads the warehouse as it
stood at an instant (``projections.olap.as_of``).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

import duckdb

from projections.olap import as_of
from projections.olap.snapshots import Trace, trace

FORMATS = ("table", "csv", "json")
#: What a query may be: SELECT covers SHOW, DESCRIBE, SUMMARIZE, FROM … and VALUES too.
READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class Refused(Exception):
    """A statement that is not a query, or SQL that does not parse or run."""


def statements(cursor: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The statements of ``sql``, once each is known to only read."""
    try:
        parsed = cursor.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refused(str(exc)) from None
    if not parsed:
        raise Refused("no statement given")
    for statement in parsed:
        if statement.type not in READING:
            kind = statement.type.name.replace("_", " ")
            raise Refused(
                f"{kind} refused: crm sql only reads (SELECT, and SHOW, DESCRIBE, SUMMARIZE, EXPLAIN); "
                "the warehouse is written by its projector alone"
            )
    return parsed


def run(
    read: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]], sql: str, when: as_of.AsOf | None
) -> tuple[list[str], list[tuple[Any, ...]], Trace]:
    """Runs ``sql`` (one or more queries: the last one's rows are answered) on one state
    of the warehouse."""
    with read() as cursor:
        parsed = statements(cursor, sql)
        found = trace(cursor)
        if when is not None:
            found = Trace(
                as_of.install(cursor, when), found.complete_through, found.events, found.snapshot, found.published_at
            )
        try:
            for statement in parsed[:-1]:
                cursor.execute(statement)
            cursor.execute(parsed[-1])
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall(), found
        except duckdb.Error as exc:
            raise Refused(str(exc).splitlines()[0]) from None


def describe(found: Trace) -> str:
    """One line for an auditor: which events the answer comes from."""
    origin = (
        f"snapshot {found.snapshot} published {found.published_at:%Y-%m-%d %H:%M:%S} UTC"
        if found.snapshot
        else ("the warehouse (no snapshot published yet)")
    )
    return (
        f"-- {found.events:,} events through position {found.position} "
        f"(complete through {found.complete_through}), from {origin}"
    )


def write(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], fmt: str, out: TextIO) -> None:
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in row] for row in rows])
    elif fmt == "json":
        json.dump([dict(zip(columns, map(_plain, row), strict=True)) for row in rows], out, indent=1)
        out.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*(_text(v) for v in row))
        Console(file=out, width=max(80, min(240, 16 * len(columns)))).print(table)
        out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def _plain(value: Any) -> Any:
    """JSON keeps numbers exact as strings when they are decimals, like the analytics API."""
    if isinstance(value, Decimal | datetime | date) or not isinstance(value, int | float | str | bool | None):
        return _text(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def prompt_lines(stdin: TextIO) -> Iterator[str]:
    """Statements typed at a prompt, each ended by ``;`` (or the end of input)."""
    interactive = stdin.isatty()
    if interactive:
        import readline  # noqa: F401  # line editing and history for input()
    pending: list[str] = []
    while True:
        if interactive:
            try:
                line = input("crm> " if not pending else "...> ")
            except EOFError:
                sys.stdout.write("\n")
                break
        else:
            line = stdin.readline()
            if not line:
                break
        if not pending and line.strip().lower() in {".quit", ".exit", "\\q", "quit", "exit"}:
            return
        pending.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(pending)
            pending = []
    if "".join(pending).strip():
        yield "\n".join(pending)
