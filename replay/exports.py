"""Audit exports as streams of text: a JSON array of history entries, CSV, and the data
subject access request (DSAR) document. Each is a generator of chunks, written to a file,
stdout or an HTTP response as it is produced, so no export is ever held whole in memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from replay.history import CSV_COLUMNS, HistoryEntry, Plan, entries_of, format_time, plan_history
from replay.reading import EventReader
from replay.state import at_version

if TYPE_CHECKING:
    from rich.console import Console


def json_array(entries: Iterable[HistoryEntry], with_data: bool = True) -> Iterator[str]:
    """``[`` then one entry per line, then ``]``."""
    yield "["
    separator = "\n"
    for item in entries:
        yield separator + json.dumps(item.as_dict(with_data), ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def csv_text(entries: Iterable[HistoryEntry]) -> Iterator[str]:
    """A header line (``CSV_COLUMNS``), then one line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for item in entries:
        yield line(item.row())


def dsar(reader: EventReader, contact_id: UUID) -> Iterator[str]:
    """Everything the event store holds about one person, as one JSON document: the
    contact's current state, the current state of each of its deals, cases, contracts and
    activities (those about the contact or about its deals and cases), and the
    complete history of all of them (entries with their ``data``).

    Checks the contact exists before returning (``NotFound``), then streams. The states
    and the history are read up to the same versions, so they agree with each other."""
    return _dsar(reader, contact_id, plan_history(reader, contact_id))


def _dsar(reader: EventReader, contact_id: UUID, plan: Plan) -> Iterator[str]:
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    states = {aggregate_id: at_version(reader, aggregate_id, v).as_dict() for aggregate_id, v in plan.versions.items()}
    contact = states.pop(contact_id)
    owned: dict[str, list[dict[str, Any]]] = {"deal": [], "case": [], "contract": [], "activity": []}
    for state in states.values():
        owned.setdefault(state["state"]["type"], []).append(state)
    yield "{\n"
    yield f'"contact_id": {dumps(str(contact_id))},\n'
    yield f'"exported_at": {dumps(format_time(datetime.now(UTC)))},\n'
    yield f'"contact": {dumps(contact)},\n'
    yield f'"deals": {dumps(owned["deal"])},\n'
    yield f'"cases": {dumps(owned["case"])},\n'
    yield f'"contracts": {dumps(owned["contract"])},\n'
    yield f'"activities": {dumps(owned["activity"])},\n'
    yield '"history": '
    yield from json_array(entries_of(reader, plan))
    yield "}\n"


class OutputRefused(Exception):
    """The output path is not the export's to write: nothing was touched."""


def write_chunks(chunks: Iterable[str], path: str | None) -> None:
    """To stdout, or to ``path``: written to a new temporary file beside it, put on disk, then
    renamed onto ``path``, so a file at ``path`` is always a whole export. Refuses
    (``OutputRefused``) a ``path`` that is a symbolic link: replacing a link the user made,
    or writing where it points, would both touch what is not the export's. If the chunks
    fail, ``path`` keeps what it held and the temporary file is removed."""
    if path is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    target = os.path.abspath(path)
    if os.path.islink(target):
        raise OutputRefused(f"{path} is a symbolic link; give the file itself (an export never writes through a link)")
    # A name of its own (O_CREAT | O_EXCL | O_NOFOLLOW): no file or link someone left at a
    # guessable name like FILE.partial is ever opened, overwritten or removed.
    fd, temporary = tempfile.mkstemp(
        dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".partial"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        _keep_mode(temporary, target)
        os.replace(temporary, target)  # replaces a link put there since the check, never its target
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _sync_folder(os.path.dirname(target))


def _keep_mode(temporary: str, target: str) -> None:
    """A replaced file keeps its permissions; a new one stays readable by its owner only
    (``mkstemp``'s mode), as befits personal data."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(temporary, stat.S_IMODE(os.lstat(target).st_mode))


def _sync_folder(folder: str) -> None:
    """The rename on disk too, so that a power cut never brings back the old file."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def print_table(entries: Iterable[HistoryEntry], console: Console, rows_per_table: int = 200) -> int:
    """A table for people, one event per row: position; when it was recorded; the
    aggregate (type, version, id); the event (type, then summary); who (actor) and why
    (correlation and causation ids). Printed ``rows_per_table`` rows at a time with fixed
    column widths, so the pieces line up. Ids are shortened to their first 8 characters;
    ``json`` and ``csv`` give them whole. Answers how many entries it printed."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    def new_table(first: bool) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_header=first, expand=True, pad_edge=False, show_lines=False)
        for name, width in _TABLE_COLUMNS:
            table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
        table.add_column("event", ratio=1, overflow="fold")
        table.add_column("who / why", width=16, no_wrap=True, overflow="ellipsis")
        return table

    count = 0
    table = new_table(first=True)
    for item in entries:
        table.add_row(
            str(item.position),
            f"{item.time.astimezone(UTC):%Y-%m-%d}\n{item.time.astimezone(UTC):%H:%M:%S}",
            f"{item.aggregate_type} v{item.version}\n{item.aggregate_id.hex[:8]}",
            f"[dim]{item.type}[/dim]\n{escape(item.summary)}",
            f"{escape(item.actor)}\n[dim]corr[/dim] {escape(item.correlation_id[:8])}"
            f"\n[dim]cause[/dim] {escape(item.causation_id[:8])}",
            end_section=True,
        )
        count += 1
        if count % rows_per_table == 0:
            console.print(table)
            table = new_table(first=False)
    if count == 0 or count % rows_per_table:
        console.print(table)
    return count


#: The columns of fixed width, before "event".
_TABLE_COLUMNS = (("position", 8), ("recorded", 10), ("aggregate", 14))
