"""Where an import's CPU goes: ``crm import`` of the files ``bench/import.py`` makes, in one
process (one worker), with the CPU time of each step of a batch added up, per event.

    python -m bench.import_phases [--contacts 10000] [--interactions 40000]

The steps are timed by wrapping the functions that do them (a fraction of a microsecond
per call, so per event the figures are a little high); "the rest" is the process's CPU
time outside the steps: the loop over the rows, the units of work, start-up. The
database's own work (COPY, indexes, WAL) is in PostgreSQL's processes, not here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database
from commands.chain import Chain
from commands.config import CommandConfig
from commands.importing import run as importing
from commands.importing.batch import BatchImporter
from commands.importing.rows import RowBuilder
from commands.importing.sources import Source
from commands.importing.storage import PostgresBatchStorage

#: A step within the one above it (indented in the table).
PART = "&nbsp;&nbsp;"

#: (owner, function name, step): the step each function's CPU time counts for.
STEPS: list[tuple[Any, str, str]] = [
    (RowBuilder, "build", "cells → command (mapping, values, external ids)"),
    (BatchImporter, "_door", "the door (check_storable)"),
    (BatchImporter, "_recorded_before", "imported before? (two queries a batch)"),
    (BatchImporter, "_load", "loading contacts (decoding their stored events)"),
    (BatchImporter, "_seal", "sealing personal fields (AES-GCM), with key reads and creation"),
    (PostgresBatchStorage, "personal_keys", PART + "of which key reads and creation"),
    (Chain, "link", "hash chain (canonical JSON, SHA-256)"),
    (BatchImporter, "_stored", "stored form (the store's JSON)"),
    (BatchImporter, "_claims", "idempotency claims (fingerprints, answers)"),
    (PostgresBatchStorage, "write", "COPY and commit (this side)"),
    (BatchImporter, "_committed", "after the commit (chain heads, snapshots)"),
]
REST = "the rest (rows loop, units of work, start-up)"
TOTAL = "total"
HANDLER = "the handler and the aggregate (rules, eventsourcing's events)"
READING = "reading the CSV"


@contextmanager
def timed_steps(spent: dict[str, float]) -> Iterator[None]:
    """Adds each step's CPU seconds to ``spent`` while the block runs."""
    clock = time.process_time
    restore: list[tuple[Any, str, Any]] = []

    def wrap(function: Callable[..., Any], step: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] += clock() - started

        return timed

    for owner, name, step in STEPS:
        restore.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrap(getattr(owner, name), step))
    handlers = importing.HANDLERS
    importing.HANDLERS = {command: wrap(handler, HANDLER) for command, handler in handlers.items()}
    records = Source._csv_records

    def reading(self: Source, keep: Any) -> Iterator[Any]:
        rows = records(self, keep)
        while True:
            started = clock()
            try:
                record = next(rows)
            except StopIteration:
                return
            finally:
                spent[READING] += clock() - started
            yield record

    Source._csv_records = reading  # type: ignore[method-assign]
    try:
        yield
    finally:
        Source._csv_records = records  # type: ignore[method-assign]
        importing.HANDLERS = handlers
        for owner, name, original in restore:
            setattr(owner, name, original)


def measure(people: Path, activity: Path, contact_columns: dict[str, str], interaction_columns: dict[str, str]) -> str:
    """Imports ``people`` then ``activity`` into a fresh PostgreSQL store with one worker;
    answers the table of the steps' CPU time (Markdown)."""
    table: dict[str, dict[str, float]] = {}
    events: dict[str, int] = {}
    with scratch_database() as dsn:
        kinds = (("contacts", people, contact_columns), ("interactions", activity, interaction_columns))
        for kind, path, mapped in kinds:
            spent: dict[str, float] = defaultdict(float)
            started = time.process_time()
            with timed_steps(spent):
                options = importing.ImportOptions(kind, path, mapped=mapped, workers=1)
                report = importing.run_import(dsn, CommandConfig(), options, "bench")
            total = time.process_time() - started
            inner = sum(seconds for step, seconds in spent.items() if not step.startswith(PART))
            spent[REST] = total - inner
            spent[TOTAL] = total
            table[kind], events[kind] = spent, report.events
    everything = sum(events.values())
    lines = [
        f"| step | µs per contact | µs per interaction | µs per event ({everything:,} events) |",
        "| --- | ---: | ---: | ---: |",
    ]
    steps = [step for _, _, step in STEPS[:6]] + [HANDLER] + [step for _, _, step in STEPS[6:]]
    for step in [READING, *steps, REST, TOTAL]:
        per = [table[k][step] / events[k] * 1e6 for k in ("contacts", "interactions")]
        overall = sum(table[k][step] for k in table) / everything * 1e6
        lines.append(f"| {step} | {per[0]:,.1f} | {per[1]:,.1f} | {overall:,.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=40_000)
    args = parser.parse_args()
    files = importlib.import_module("bench.import")  # ``import`` is a keyword
    with tempfile.TemporaryDirectory(prefix="bench-import-phases-") as tmp:
        people, activity = files.generate(Path(tmp), args.contacts, args.interactions)
        print(measure(people, activity, files.CONTACT_COLUMNS, files.INTERACTION_COLUMNS))


if __name__ == "__main__":
    main()
