"""One import, start to end: check the file and the mapping (nothing is written if either
cannot work), then read the rows in batches, run each batch (``batch.py``) in one
transaction, write the rejected rows to the rejects file and report progress.

With ``workers`` > 1 (PostgreSQL only), that many processes share the rows: each reads the
whole file and takes the rows whose aggregate (for interactions: whose contact) hashes to
it, so the rows of one aggregate stay in file order in one process and no two processes
record on the same aggregate. Every batch is committed on its own: an import stopped
half-way keeps its committed batches, and running it again skips them.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from commands.config import CommandConfig
from commands.handlers import HANDLERS
from commands.importing.batch import BatchImporter
from commands.importing.kinds import KINDS, SOURCE_NAME, Kind
from commands.importing.mapping import ColumnMapping, MappingError, resolve
from commands.importing.rejects import RejectsFile, default_path
from commands.importing.rows import Row, RowBuilder
from commands.importing.sources import Record, Source, Values, detect_format
from commands.importing.storage import storage_for
from commands.store import CrmEventStore
from domain.errors import DomainError
from domain.scoring import ScoringRules
from domain.sla import SlaPolicy, SlaTarget
from dsn import parse


@dataclass(frozen=True)
class ImportOptions:
    """``mapped``: target → column (``--map``, ``--mapping``); ``constants``: target →
    value for rows whose cell is empty (``--set``); ``source``: the system the rows come
    from (external ids are unique within it)."""

    kind: str
    path: Path
    format: str | None = None
    mapped: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    source: str = "default"
    rejects: Path | None = None
    batch_size: int = 2000
    workers: int = 1
    delimiter: str | None = None
    dry_run: bool = False


@dataclass
class Progress:
    """Where the import is: bytes of the file read (``done`` of ``total``) and rows so far."""

    done: int
    total: int
    rows: int = 0
    recorded: int = 0
    events: int = 0
    skipped: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    kind: str
    path: Path
    rows: int
    recorded: int
    events: int
    skipped: int
    rejected: int
    seconds: float
    rejects_path: Path | None
    positions: tuple[int, int] | None
    dry_run: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)

    @property
    def events_per_second(self) -> float:
        return self.events / max(self.seconds, 1e-9)


class ImportFailed(Exception):
    """The import stopped (the event store refused or went away): the batches committed
    before stay; running the same import again skips them and carries on."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class _BatchReport:
    """What one committed batch tells the process that writes the rejects file and the
    progress: sent between processes, so plain data."""

    part: int
    position: int
    rows: int
    recorded: int
    events: int
    skipped: int
    rejected: list[tuple[Record, str, str]]
    positions: tuple[int, int] | None


@dataclass(frozen=True)
class _Plan:
    kind: Kind
    format: str
    mapping: ColumnMapping
    header: list[str] | None
    delimiter: str
    size: int


def check(options: ImportOptions) -> _Plan:
    """Everything that can be checked before a row is imported: the kind, the source name,
    the file, its header and the mapping. Raises ``MappingError`` (or ``SourceError``,
    ``OSError``) with a message for a person."""
    kind = KINDS.get(options.kind)
    if kind is None:
        raise MappingError(f"cannot import {options.kind!r}; one of {', '.join(KINDS)}")
    if not SOURCE_NAME.match(options.source):
        raise MappingError(f"--source {options.source!r}: letters, digits, '-', '_' and '.' only, 64 at most")
    if options.batch_size < 1 or options.workers < 1:
        raise MappingError("--batch-size and --workers must be at least 1")
    fmt = detect_format(options.path, options.format)
    source = Source(options.path, fmt, options.delimiter)
    try:
        mapping = resolve(kind, source.header, options.mapped, options.constants)
        return _Plan(kind, fmt, mapping, source.header, source.delimiter, source.size)
    finally:
        source.close()


def run_import(
    store_url: str,
    config: CommandConfig,
    options: ImportOptions,
    actor: str,
    progress: Callable[[Progress], None] | None = None,
    store: CrmEventStore | None = None,
) -> ImportReport:
    """Imports ``options.path`` into the event store at ``store_url`` (``store``: that
    store, opened already, used when there is one worker). ``actor`` is recorded on every
    event; the events of one run share one correlation id."""
    plan = check(options)
    if options.workers > 1 and parse(store_url, "event store URL").kind != "postgresql":
        raise MappingError("several --workers need a PostgreSQL event store (SQLite has one writer at a time)")
    rejects_path = options.rejects or default_path(options.path, plan.format)
    if not rejects_path.parent.is_dir():
        raise MappingError(f"the rejects file cannot be written: there is no folder {rejects_path.parent}")
    if rejects_path.resolve() == options.path.resolve():
        raise MappingError("the rejects file cannot be the file being imported")
    rejects = RejectsFile(rejects_path, plan.format, plan.header, plan.delimiter)
    started = time.perf_counter()
    done = Progress(0, plan.size)
    positions: list[tuple[int, int]] = []
    reached = [0] * options.workers

    def take(report: _BatchReport) -> None:
        reached[report.part] = report.position
        done.done = sum(reached) // options.workers
        done.rows += report.rows
        done.recorded += report.recorded
        done.events += report.events
        done.skipped += report.skipped
        done.rejected += len(report.rejected)
        for record, code, message in report.rejected:
            rejects.write(record, code, message)
        if report.positions is not None:
            positions.append(report.positions)
        if progress is not None:
            progress(done)

    def report() -> ImportReport:
        span = (min(p[0] for p in positions), max(p[1] for p in positions)) if positions else None
        return ImportReport(
            plan.kind.name,
            options.path,
            done.rows,
            done.recorded,
            done.events,
            done.skipped,
            done.rejected,
            time.perf_counter() - started,
            rejects_path if rejects.count else None,
            span,
            options.dry_run,
        )

    correlation_id = f"import:{uuid4()}"
    try:
        if options.workers == 1:
            own = store is None
            store = store if store is not None else CrmEventStore(store_url, pool_size=2)
            try:
                for batch in _import_part(store, config, options, plan, actor, correlation_id, 0, 1):
                    take(batch)
            finally:
                if own:
                    store.close()
        else:
            _in_workers(store_url, _portable(config), options, actor, correlation_id, take)
    except ImportFailed as failed:
        failed.report = report()
        raise
    except Exception as exc:
        raise ImportFailed(_reason(exc), report()) from exc
    finally:
        rejects.close()
    return report()


def _import_part(
    store: CrmEventStore,
    config: CommandConfig,
    options: ImportOptions,
    plan: _Plan,
    actor: str,
    correlation_id: str,
    part: int,
    parts: int,
) -> Iterator[_BatchReport]:
    """The batches of rows that are this part's (all, with one part), run and committed."""
    builder = RowBuilder(plan.kind, plan.mapping, options.source, actor, correlation_id)
    storage = storage_for(store)
    importer = BatchImporter(store, storage, config, HANDLERS, dry_run=options.dry_run)
    affinity = [plan.mapping.columns[t] for t in plan.kind.affinity if t in plan.mapping.columns]
    source = Source(options.path, plan.format, plan.delimiter)
    collecting = gc.get_threshold()
    # A batch allocates hundreds of thousands of objects and frees them at its end, while
    # the aggregates kept between batches are many: Python's default thresholds would
    # walk them all again and again (a tenth of the import's time). Restored at the end.
    gc.set_threshold(max(collecting[0], 50_000), *collecting[1:])
    try:
        rows: list[Row] = []
        records: dict[int, Record] = {}
        refused: list[tuple[Record, str, str]] = []

        def flush() -> _BatchReport:
            outcome = importer.run(rows)
            rejected = [*refused, *((records[r.row], r.code, r.message) for r in outcome.rejected)]
            rejected.sort(key=lambda entry: entry[0].row)
            batch = _BatchReport(
                part,
                source.position,
                len(rows) + len(refused),
                outcome.recorded,
                outcome.events,
                outcome.skipped,
                rejected,
                outcome.positions,
            )
            rows.clear()
            records.clear()
            refused.clear()
            return batch

        def mine(row: int, values: Values) -> bool:
            return _part_of(row, values, affinity, parts) == part

        for record in source.records(mine if parts > 1 else None):
            # A row that cannot be read has no values: it goes by its number.
            if parts > 1 and record.problem is not None and record.row % parts != part:
                continue
            try:
                row = builder.build(record)
            except DomainError as error:
                refused.append((record, error.code, error.detail))
            else:
                rows.append(row)
                records[row.row] = record
            if len(rows) + len(refused) >= options.batch_size:
                yield flush()
        yield flush()
    finally:
        gc.set_threshold(*collecting)
        source.close()
        storage.close()


def _part_of(row: int, values: Values, columns: list[str], parts: int) -> int:
    """The worker a row goes to: by its aggregate (its own external id, or the contact it
    is about), with a hash every process computes alike."""
    for column in columns:
        value = values.get(column)
        if value is not None:
            text = (value if type(value) is str else str(value)).strip()
            if text:
                return zlib.crc32(text.lower().encode()) % parts
    return row % parts


def _portable(config: CommandConfig) -> tuple[Any, ...]:
    """The configuration as plain data, for the worker processes (its mappings are
    read-only proxies, which do not travel between processes)."""
    policy = config.sla_policy
    targets = {p: (t.first_response_seconds, t.resolution_seconds) for p, t in policy.targets.items()}
    return dict(config.scoring_rules.points), targets, policy.reopen_window_seconds


def _config(portable: tuple[Any, ...]) -> CommandConfig:
    points, targets, reopen_window_seconds = portable
    policy = SlaPolicy({p: SlaTarget(*seconds) for p, seconds in targets.items()}, reopen_window_seconds)
    return CommandConfig(ScoringRules(points), policy)


def _in_workers(
    store_url: str,
    config: tuple[Any, ...],
    options: ImportOptions,
    actor: str,
    correlation_id: str,
    take: Callable[[_BatchReport], None],
) -> None:
    context = multiprocessing.get_context("spawn")  # no connection or thread of this process is inherited
    reports: Any = context.Queue(maxsize=8 * options.workers)
    workers = [
        context.Process(
            target=_worker,
            args=(store_url, config, options, actor, correlation_id, part, options.workers, reports),
            name=f"crm-import-{part}",
            daemon=True,
        )
        for part in range(options.workers)
    ]
    for worker in workers:
        worker.start()
    running = set(range(options.workers))
    try:
        while running:
            try:
                message = reports.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in running if not workers[p].is_alive()]
                if dead:
                    raise ImportFailed(f"import worker {dead[0]} ended without a word") from None
                continue
            if message[0] == "batch":
                take(message[1])
            elif message[0] == "done":
                running.discard(message[1])
            else:
                raise ImportFailed(message[2])
    finally:
        for worker in workers:
            if worker.is_alive() and running:
                worker.terminate()
            worker.join(timeout=10)


def _worker(
    store_url: str,
    config: tuple[Any, ...],
    options: ImportOptions,
    actor: str,
    correlation_id: str,
    part: int,
    parts: int,
    reports: Any,
) -> None:
    try:
        plan = check(options)
        store = CrmEventStore(store_url, pool_size=2)
        try:
            for batch in _import_part(store, _config(config), options, plan, actor, correlation_id, part, parts):
                reports.put(("batch", batch))
        finally:
            store.close()
        reports.put(("done", part))
    except BaseException as exc:
        reports.put(("failed", part, _reason(exc)))
        raise


def _reason(error: BaseException) -> str:
    """One line, for a person (a database's multi-line message cut to its first line)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
