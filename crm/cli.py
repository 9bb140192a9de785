"""The ``crm`` command line."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID, uuid4

import click
from pydantic import ValidationError

from crm.settings import Settings
from crm.wiring import PROJECTIONS, CloseFailed, Container
from domain.access import ROLES
from domain.meta import Meta

if TYPE_CHECKING:
    from crm.workers import Workers

_T = TypeVar("_T")
_W = TypeVar("_W")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise click.ClickException(f"invalid CRM_* settings:\n{exc}") from None


@contextmanager
def _container(settings: Settings | None = None) -> Iterator[Container]:
    """The parts of one command, closed when it ends. What did not close fails the command
    with a one-line error (exit 1), unless the command failed already: then its own error
    is the one shown."""
    try:
        with Container(settings if settings is not None else _settings()) as container:
            yield container
    except CloseFailed as exc:
        raise click.ClickException(str(exc)) from None


#: Seconds a process may take to stop after SIGTERM or SIGINT before it exits regardless.
#: Exiting then is safe: every position is stored with what it covers.
STOP_GRACE = 8.0


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _refuse_open_exposure(container: Container, host: str, port: int, insecure: bool) -> None:
    """Secure by default: an API without keys is for one person on one machine."""
    if container.keys_required():
        return
    exposed = host not in _LOOPBACK and not host.startswith("127.")
    production = bool(container.settings.event_store)
    if (exposed or production) and not insecure:
        where = f"on {host}" if exposed else "over a PostgreSQL event store"
        raise click.ClickException(
            f"refusing to serve {where} with no API key: create one with "
            "'crm keys create NAME --role ROLE', or pass --insecure to serve it open"
        )
    logging.getLogger("crm").warning(
        "NO API KEY EXISTS: the API is open to anyone who reaches %s:%s, and X-Actor names the actor. "
        "Create a key with 'crm keys create NAME --role ROLE' to require keys.",
        host,
        port,
    )


def _stop_on_signals(grace: float = STOP_GRACE) -> threading.Event:
    """An event set by SIGTERM or SIGINT. A watchdog then ends the process after ``grace``
    seconds (and a few more to close clients), even if a client call never returns."""
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            watchdog = threading.Timer(grace + 4.0, os._exit, (0,))
            watchdog.daemon = True
            watchdog.start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return stop


def _supervised(
    name: str, build: Callable[[], _W], run: Callable[[_W, threading.Event], None], publish: Container | None = None
) -> None:
    """Runs one long-running piece until a signal, rebuilt after every failure (an outage
    of PostgreSQL or Kafka, a crash) with backoff: the process itself never exits on one.
    With ``publish``, the warehouse this process writes is published for readers beside it."""
    from crm.workers import Workers

    stop = _stop_on_signals()
    workers = Workers()
    workers.add(name, build, run)
    if publish is not None:
        _add_publisher(workers, publish)
    workers.run_until_stopped(stop, STOP_GRACE)


def _add_publisher(workers: Workers, container: Container) -> None:
    workers.add("warehouse-publisher", container.olap_publisher, lambda publisher, stop: publisher.run(stop))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def main(log_level: str) -> None:
    """eventcrm: an event-sourced CRM.

    With no settings, everything runs embedded under ./.eventcrm (SQLite event store,
    in-process stream, SQLite and DuckDB read models). Production runs are selected by
    CRM_EVENT_STORE, CRM_KAFKA_BOOTSTRAP, CRM_OLTP_DSN and CRM_OLAP_PATH; see the README.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--api-only", is_flag=True, help="Serve the API only; run the relay and projectors elsewhere.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="API worker processes sharing the port (one per core is a good start). Above 1 the "
    "event store and the operational read model must be on PostgreSQL; the relay, projectors "
    "and other background workers still run once, in the parent process.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Serve without any API key on a non-loopback address or over a PostgreSQL event store "
    "(anyone who reaches the port may act under any name). Never in production.",
)
def serve(host: str, port: int, api_only: bool, workers: int, insecure: bool) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and, unless --api-only, the relay (with Kafka),
    every projector, the automations, the SLA watcher and the webhook dispatcher in the
    same process.

    With --workers N, N processes serve the API on the same port, each with its own
    connections and group commit; they share the event store through PostgreSQL, where one
    of two commands racing on a record wins and the other gets concurrency_conflict. The
    background workers run once, in the parent process, whatever N is. The embedded SQLite
    stores belong to one process: N above 1 needs CRM_EVENT_STORE and CRM_OLTP_DSN.

    Once an API key exists (crm keys create, or CRM_API_KEYS), every /v1 route needs one.
    With none, the API is open: it then serves on loopback only, and refuses to start over
    a PostgreSQL event store, unless --insecure."""
    import uvicorn

    from api.app import create_app
    from crm import serving
    from crm.workers import Workers

    settings = _settings()
    refused = serving.refusal(settings, workers)
    if refused is not None:
        raise click.ClickException(refused)
    with _container(settings) as container:
        _refuse_open_exposure(container, host, port, insecure)
        background = Workers()
        if not api_only:
            if container.settings.uses_kafka:
                background.add("relay", container.relay, lambda relay, stop: relay.run(stop))
            for name in PROJECTIONS:
                background.add(
                    f"projector-{name}", partial(container.projector, name), lambda runner, stop: runner.run(stop)
                )
            _add_publisher(background, container)
            background.add("automations", container.automations, lambda runner, stop: runner.run(stop))
            interval = container.settings.sla_watch_interval
            background.add("sla-watch", container.sla_watcher, lambda watcher, stop: watcher.run(stop, interval))
            every = container.settings.deadline_watch_interval
            background.add("deadline-watch", container.deadline_watcher, lambda watcher, stop: watcher.run(stop, every))
            background.add("webhooks", container.dispatcher, lambda dispatcher, stop: dispatcher.run(stop))
        if workers > 1:
            _serve_workers(host, port, workers, background, api_only)
            return
        app = create_app(container, on_start=background.start, on_stop=background.stop)

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                app.state.stopping.set()  # open event streams end, so the server can stop
                super().handle_exit(sig, frame)

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            access_log=False,  # it prints query strings (?email=…); api/accesslog.py logs paths only
            timeout_graceful_shutdown=int(STOP_GRACE),
        )
        Server(config).run()


def _serve_workers(host: str, port: int, workers: int, background: Workers, api_only: bool) -> None:
    """The parent of ``workers`` API processes: it binds the port, keeps them alive (a
    worker that dies is replaced), and runs the background workers once, here."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from crm import serving

    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(serving.LOG_FORMAT))
    config = uvicorn.Config(
        "crm.serving:api_worker",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        access_log=False,  # it prints query strings (?email=…); api/accesslog.py logs paths only
        timeout_graceful_shutdown=int(STOP_GRACE),
        # A worker that does not answer the parent's ping in this time is replaced: starting
        # one (imports, connections) takes seconds on a busy machine.
        timeout_worker_healthcheck=60,
    )

    class Supervisor(Multiprocess):
        """Stops the background workers while the API processes stop, not after them."""

        def handle_int(self) -> None:
            background.stopping.set()
            super().handle_int()

        def handle_term(self) -> None:
            background.stopping.set()
            super().handle_term()

    config.configure_logging()
    socket = config.bind_socket()
    supervisor = Supervisor(config, sockets=[socket])  # takes SIGINT and SIGTERM from here on
    if not api_only:
        logging.getLogger("crm").info("background workers run in the parent process %d only", os.getpid())
    background.start()
    try:
        supervisor.run()  # until SIGTERM or SIGINT: then it stops every worker process
    finally:
        socket.close()
        background.stop(STOP_GRACE)


@main.command()
@click.option(
    "--contacts",
    default=300,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="How many contacts the year of activity has.",
)
@click.option("--seed", default=7, show_default=True, type=int, help="Same seed, same story.")
@click.option("--reset", is_flag=True, help="Delete the embedded stores in the data folder first.")
def demo(contacts: int, seed: int, reset: bool) -> None:
    """Fill a fresh embedded store with a year of CRM activity and print the dashboards."""
    from rich.console import Console

    from crm import demo as demo_module

    settings = _settings()
    if settings.event_store or settings.kafka_bootstrap or settings.oltp_dsn:
        raise click.ClickException(
            "crm demo runs on the embedded stores only; unset CRM_EVENT_STORE, CRM_KAFKA_BOOTSTRAP and CRM_OLTP_DSN"
        )
    try:
        demo_module.prepare(settings.data_dir, reset)
    except demo_module.DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    console = Console()
    with _container(settings) as container:
        summary = demo_module.record_year(container, contacts, seed, console)
        demo_module.project_all(container, console)
        demo_module.print_dashboards(container, summary, console)


@main.command()
@click.option("--until-idle", is_flag=True, help="Stop once everything recorded so far is published.")
def relay(until_idle: bool) -> None:
    """Publish the event store's notification log to Kafka, in order, from where it left off."""
    settings = _settings()
    if not settings.uses_kafka:
        raise click.ClickException("the relay publishes to Kafka: set CRM_KAFKA_BOOTSTRAP")
    with _container(settings) as container:
        if until_idle:
            worker = container.relay()
            if not container.relay_lease.hold():
                raise click.ClickException("another relay is active (it holds the relay lease): nothing to do here")
            total = 0
            while n := worker.publish_pending():
                total += n
            click.echo(f"published {total} events; relay position {worker.position}")
        else:
            _supervised("relay", container.relay, lambda relay, stop: relay.run(stop))


@main.command()
@click.option("--until-idle", is_flag=True, help="Stop once nothing is due (retries waiting for later stay queued).")
def deliver(until_idle: bool) -> None:
    """Deliver webhooks: post every event to each subscription that wants it, signed,
    in order per subject, retrying failures on the schedule CRM_WEBHOOK_RETRY_DELAYS.

    Any number of these processes (and crm serve) share the work safely; a process that
    dies loses nothing, and its deliveries are sent again when it or another takes over."""
    with _container() as container:
        if until_idle:
            dispatcher = container.dispatcher()
            dispatcher.run_until_idle()
            click.echo(f"made {dispatcher.sent} delivery attempts")
        else:
            _supervised("webhooks", container.dispatcher, lambda dispatcher, stop: dispatcher.run(stop))


@main.command()
@click.argument("name", type=click.Choice(PROJECTIONS))
@click.option("--until-idle", is_flag=True, help="Stop once caught up.")
def project(name: str, until_idle: bool) -> None:
    """Run one projector (oltp: PostgreSQL/SQLite; olap: DuckDB). Processes of one NAME
    share a Kafka consumer group, so starting more spreads the partitions."""
    with _container() as container:
        if until_idle:
            n = container.projector(name).run_until_idle()
            if name == "olap":
                container.olap_publisher().publish()
            click.echo(f"projected {n} events into {name}")
        else:
            _supervised(
                f"projector-{name}",
                lambda: container.projector(name),
                lambda runner, stop: runner.run(stop),
                publish=container if name == "olap" else None,
            )


@main.group()
def projections() -> None:
    """Where the read models are, and rebuilding them."""


@projections.command("status")
def projections_status() -> None:
    """Each projection's position and lag (events still to project)."""
    from rich.console import Console
    from rich.table import Table

    from crm.status import statuses

    with _container() as container:
        table = Table("projection", "store", "generation", "position", "lag", "note")
        for s in statuses(container):
            table.add_row(
                s.name,
                s.store,
                "" if s.generation is None else str(s.generation),
                s.position,
                "?" if s.lag is None else f"{s.lag:,}",
                s.note,
            )
        Console().print(table)


@projections.command("rebuild")
@click.argument("name", type=click.Choice(PROJECTIONS))
@click.option(
    "--from",
    "origin",
    type=click.Choice(["auto", "kafka", "store"]),
    default="auto",
    show_default=True,
    help="Replay Kafka from the beginning, or the event store (auto: Kafka while it still holds every "
    "event, else the event store).",
)
def projections_rebuild(name: str, origin: str) -> None:
    """Replay every event into new tables, then switch readers over atomically.

    Reads are never interrupted, and a projector running elsewhere carries on: at the switch
    it resumes from the rebuilt positions."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from crm.rebuilding import rebuild

    with _container() as container:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        ) as bar:
            task = bar.add_task(f"rebuilding {name}", total=None, rate="")
            started = time.perf_counter()

            def progress(done: int, expected: int) -> None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                bar.update(task, completed=done, total=expected, rate=f"{rate:,.0f} events/s")

            report = rebuild(container, name, origin, progress)
        if name == "olap":
            container.olap_publisher().publish()
        click.echo(
            f"rebuilt {name} from {report.replayed_from}: {report.events:,} events in {report.seconds:.1f}s "
            f"({report.events_per_second:,.0f}/s); readers switched to generation {report.generation}"
        )


@main.command()
@click.option("--until-idle", is_flag=True, help="Stop once every event so far was reacted to.")
def automate(until_idle: bool) -> None:
    """Run the automations: a score crossing CRM_MQL_THRESHOLD makes a contact
    marketing-qualified with a follow-up task (an activity) for its owner; new cases go to
    the least loaded agent of CRM_AGENTS with the case's skill, else in turn; a won deal
    makes its contact a customer; an SLA breach escalates the case."""
    with _container() as container:
        if until_idle:
            runner = container.automations()
            runner.run_until_idle()
            click.echo(f"issued {runner.writer.issued} commands")
        else:
            _supervised("automations", container.automations, lambda runner, stop: runner.run(stop))


@main.command("sla-watch")
@click.option("--once", is_flag=True, help="Check the deadlines once and stop.")
def sla_watch(once: bool) -> None:
    """Record an SLA breach on every case whose first-response or resolution deadline
    passed unmet (the escalation automation then raises its priority)."""
    with _container() as container:
        if once:
            watcher = container.sla_watcher()
            watcher.catch_up()
            click.echo(f"recorded {watcher.tick()} breaches")
        else:
            interval = container.settings.sla_watch_interval
            _supervised("sla-watch", container.sla_watcher, lambda watcher, stop: watcher.run(stop, interval))


@main.command("deadline-watch")
@click.option("--once", is_flag=True, help="Check the deadlines once and stop.")
def deadline_watch(once: bool) -> None:
    """Act on sales deadlines: open a renewal deal (in CRM_RENEWAL_PIPELINE) for each contract
    whose renewal window opened, record contracts that ended unrenewed as lapsed, send due
    activity reminders, mark activities past their due time overdue, and expire sent quotes
    past their validity."""
    with _container() as container:
        if once:
            watcher = container.deadline_watcher()
            watcher.catch_up()
            click.echo(f"issued {watcher.tick()} commands")
        else:
            every = container.settings.deadline_watch_interval
            _supervised("deadline-watch", container.deadline_watcher, lambda watcher, stop: watcher.run(stop, every))


class _Instant(click.ParamType):
    """A time with a zone: 2026-03-01T09:30:00Z or 2026-03-01T10:30:00+01:00."""

    name = "TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        from domain.errors import InvalidValue
        from replay.history import parse_instant

        try:
            return value if isinstance(value, datetime) else parse_instant(str(value))
        except InvalidValue as exc:
            self.fail(exc.detail, param, ctx)


def _audit_call(call: Callable[[], _T]) -> _T:
    """Runs ``call``; an unknown contact or a bad argument becomes a one-line error."""
    from domain.errors import DomainError

    try:
        return call()
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None


def _operator() -> Meta:
    """Who runs a command from this shell, for the audit trail."""
    import getpass

    user = f"cli:{getpass.getuser()}"
    command_id = f"cli:{uuid4()}"
    return Meta(actor=user, correlation_id=command_id, causation_id=command_id)


@main.group()
def keys() -> None:
    """API keys: who may call the API, in which roles. Keys are shown once and stored only
    as a digest; creating and revoking them are events in the audit trail."""


@keys.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="What the key may do; repeat for several. sales, support, marketing: their work; analyst: analytics "
    "and read models with personal fields masked; auditor: read everything, change nothing; service: "
    "subscriptions and the event feed; admin: erase, merge, keys.",
)
def keys_create(name: str, roles: tuple[str, ...]) -> None:
    """Create a key named NAME (it becomes the actor of what the key does) and print it
    once: it cannot be shown again."""
    from commands.access import CreateApiKey

    with _container() as container:
        result = _audit_call(lambda: container.commands.execute(CreateApiKey(name, roles), _operator()))
    click.echo(result.extra["key"])
    click.echo(f"key {name} ({', '.join(result.extra['roles'])}): shown once, stored only as a digest", err=True)


@keys.command("list")
def keys_list() -> None:
    """Every key ever created: name, roles, when, by whom, and whether it is revoked."""
    from rich.console import Console
    from rich.table import Table

    with _container() as container:
        listed = container.key_list()
    table = Table("name", "roles", "created", "by", "revoked")
    for key in listed:
        table.add_row(key.name, ", ".join(key.roles), key.created_at, key.created_by, key.revoked_at or "")
    Console().print(table)


@keys.command("revoke")
@click.argument("name")
@click.option("--reason", help="Why, for the audit trail.")
def keys_revoke(name: str, reason: str | None) -> None:
    """Revoke the key named NAME: refused by every process at once."""
    from commands.access import RevokeApiKey

    with _container() as container:
        _audit_call(lambda: container.commands.execute(RevokeApiKey(name, reason), _operator()))
    click.echo(f"key {name} revoked")


def _record_read(container: Container, command: str, contact_id: UUID) -> None:
    """Puts a read of the contact's data in the access trail (actor ``cli:<OS user>``,
    route ``command``) before anything is shown; if that fails, the command fails and shows
    nothing, as the API answers 503 (docs/AUDIT.md)."""
    from crm.settings import hide_passwords

    try:
        container.access_trail.record(_operator().actor, command, [contact_id])
    except Exception as exc:
        reason = hide_passwords(str(exc).strip().splitlines()[0]) if str(exc).strip() else type(exc).__name__
        raise click.ClickException(
            f"nothing shown: the read could not be recorded in the access trail ({reason})"
        ) from None


@main.group()
def audit() -> None:
    """A contact's complete history and its state at any moment, read from the event store;
    and who read a contact's data (the access trail)."""


@audit.command("history")
@click.argument("contact_id", type=click.UUID)
@click.option("--as-of", type=_Instant(), help="Only what was recorded at or before this time.")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
def audit_history(contact_id: UUID, as_of: datetime | None, output_format: str) -> None:
    """Every event of the contact and of its deals and cases, in event-store order, with
    who did it (actor) and why (correlation and causation ids). See docs/AUDIT.md."""
    from rich.console import Console

    from replay import exports

    with _container() as container:
        entries = _audit_call(lambda: container.audit.history(contact_id, as_of))
        _record_read(container, "crm audit history", contact_id)
        if output_format == "table":
            exports.print_table(entries, Console())
        else:
            chunks = exports.json_array(entries) if output_format == "json" else exports.csv_text(entries)
            exports.write_chunks(chunks, None)


@audit.command("state")
@click.argument("contact_id", type=click.UUID)
@click.option("--as-of", type=_Instant(), help="The contact as it was at this time (default: now).")
def audit_state(contact_id: UUID, as_of: datetime | None) -> None:
    """The contact as it was at --as-of, rebuilt from its events, as JSON."""
    import json

    with _container() as container:
        state = _audit_call(lambda: container.audit.state(contact_id, as_of))
        _record_read(container, "crm audit state", contact_id)
        click.echo(json.dumps(state.as_dict(), indent=2, ensure_ascii=False))


@audit.command("access")
@click.argument("contact_id", type=click.UUID)
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
def audit_access(contact_id: UUID, output_format: str) -> None:
    """Who read the contact's data, when (UTC) and through which API route or crm command,
    oldest first: the access trail. Kept after the contact is erased. See docs/AUDIT.md."""
    from replay import access_trail, exports

    with _container() as container:
        entries = container.access_trail.entries(contact_id)
        if output_format == "table":
            from rich.console import Console
            from rich.markup import escape
            from rich.table import Table

            table = Table("id", "at (UTC)", "actor", "route")
            for entry in entries:
                at = entry.at.strftime("%Y-%m-%d %H:%M:%S")
                table.add_row(str(entry.id), at, escape(entry.actor), escape(entry.route))
            Console().print(table)
        else:
            json_or_csv = access_trail.json_array if output_format == "json" else access_trail.csv_text
            exports.write_chunks(json_or_csv(entries), None)


@audit.command("verify")
@click.option("--kafka", "with_kafka", is_flag=True, help="Verify the Kafka topics as well (from their beginning).")
def audit_verify(with_kafka: bool) -> None:
    """Walk the event store and report every altered, missing or reordered event by
    position; exits 1 when anything is found."""
    with _container() as container:
        verdict = container.verify(with_kafka)
    for finding in verdict.findings:
        click.echo(
            f"{finding.kind:12} position {finding.position:>10}  {finding.aggregate} "
            f"v{finding.version}: {finding.detail}"
        )
    for note in verdict.notes:
        click.echo(f"{note.kind:12} position {note.position:>10}  {note.aggregate} v{note.version}: {note.detail}")
    click.echo(
        f"{verdict.checked:,} events of {verdict.aggregates:,} aggregates checked: "
        + ("clean" if verdict.clean else f"{len(verdict.findings)} finding(s)")
    )
    if not verdict.clean:
        raise SystemExit(1)


@main.command()
@click.argument("query", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--as-of", "instant", type=_Instant(), help="Read the warehouse as it stood at this instant.")
@click.option(
    "--time",
    "kind",
    type=click.Choice(["business", "knowledge"]),
    default="business",
    show_default=True,
    help="With --as-of: business time (the world as it stood then, corrections recorded later included) "
    "or knowledge time (only what had been recorded by then).",
)
def sql(query: str | None, fmt: str, instant: datetime | None, kind: str) -> None:
    """Query the analytics warehouse with SQL, read-only, while it is being projected.

    Reads the newest snapshot the projector published (docs/ANALYTICS.md): any number of
    these may run beside crm serve or crm project olap. QUERY is one or more statements
    (the last one's rows are printed); without it, a prompt reads statements ending in ';'
    (.quit to leave). Statements that would write are refused. Which events the answer is
    computed from is printed on stderr.

    \b
    crm sql "SELECT * FROM metric_close_rate"
    crm sql --format csv "FROM deals" > deals.csv
    crm sql --as-of 2026-03-31T00:00:00Z "FROM metric_forecast"
    """
    from crm import sql as shell
    from projections.olap import as_of

    when = as_of.AsOf(instant, kind) if instant is not None else None  # type: ignore[arg-type]
    with _container() as container:
        read = container.warehouse.read

        def answer(text: str) -> None:
            columns, rows, found = shell.run(read, text, when)
            click.echo(shell.describe(found), err=True)
            shell.write(columns, rows, fmt, sys.stdout)

        if query is not None:
            try:
                answer(query)
            except shell.Refused as exc:
                raise click.ClickException(str(exc)) from None
            return
        failed = False
        for text in shell.prompt_lines(sys.stdin):
            try:
                answer(text)
            except shell.Refused as exc:
                failed = True
                click.echo(f"Error: {exc}", err=True)
        if failed and not sys.stdin.isatty():
            raise SystemExit(1)


@main.group()
def export() -> None:
    """Exports: a person's data and the audit trail (from the event store), the warehouse's
    facts (as Parquet)."""


@export.command("dsar")
@click.argument("contact_id", type=click.UUID)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="A file instead of stdout.")
def export_dsar(contact_id: UUID, output: str | None) -> None:
    """Everything held about one person (data subject access request): the contact's state,
    its deals and cases, and the complete history of all of them, as JSON."""
    from replay.exports import OutputRefused, write_chunks

    with _container() as container:
        chunks = _audit_call(lambda: container.audit.dsar(contact_id))
        _record_read(container, "crm export dsar", contact_id)
        try:
            write_chunks(chunks, output)
        except OutputRefused as exc:
            raise click.ClickException(str(exc)) from None


@export.command("audit")
@click.option("--from", "start", type=_Instant(), required=True, help="Recorded at or after this time.")
@click.option("--to", "end", type=_Instant(), required=True, help="…and before this time.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="A file instead of stdout.")
def export_audit(start: datetime, end: datetime, output: str | None) -> None:
    """The audit trail of a period: every event of every aggregate recorded in it, as CSV."""
    from replay.exports import OutputRefused, write_chunks

    with _container() as container:
        try:
            write_chunks(_audit_call(lambda: container.audit.trail_csv(start, end)), output)
        except OutputRefused as exc:
            raise click.ClickException(str(exc)) from None


@export.command("parquet")
@click.argument("directory", type=click.Path(file_okay=False, writable=True))
def export_parquet(directory: str) -> None:
    """The analytics warehouse as Parquet, for bigger engines: every fact partitioned by
    year and month of its business date, every dimension as one file (docs/ANALYTICS.md).
    Reads the newest snapshot, so it runs while the warehouse is being projected.
    DIRECTORY must be new, empty or an earlier export: anything else is refused."""
    import duckdb

    from projections.olap.export import ExportRefused
    from projections.olap.export import export_parquet as write_parquet
    from projections.olap.snapshots import current

    warehouse = _settings().olap_file
    # The newest snapshot, which no writer locks; the file itself if none was published.
    path = current(warehouse) or warehouse
    if not path.exists():
        raise click.ClickException(f"no warehouse at {warehouse} yet; run 'crm project olap' first")
    try:
        conn = duckdb.connect(str(path.resolve()), read_only=True)
    except duckdb.IOException as exc:
        raise click.ClickException(f"cannot open {path} ({exc}); is a process writing to it?") from None
    try:
        for done in write_parquet(conn, directory):
            click.echo(f"{done.table}: {done.rows} rows -> {done.path}")
    except ExportRefused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()


@main.group("import")
def import_() -> None:
    """Bulk import from another CRM: one command per kind of row (docs/IMPORTING.md).

    Every row becomes the command the API would send and passes every rule of the
    aggregates; batches of rows are recorded in one transaction each, with the same
    events, hash chains and sealed personal fields as commands. A row whose external id
    was imported before (from the same --source) is skipped, so running an import again
    records nothing new. Rejected rows go to a rejects file with their row number, the
    rule's code and its message, while the valid rows go in.

    \b
    Exit status: 0 every row in (or skipped as imported before); 3 some rows rejected
    (the others are in); 2 the file or the mapping cannot work (nothing written);
    1 the event store failed (the batches before stay in: run it again to carry on).
    """


def _import_command(kind_name: str) -> None:
    from pathlib import Path
    from typing import Any

    from commands.importing.kinds import KINDS

    kind = KINDS[kind_name]
    fields = "\n".join(f"  {t.name:22} {t.help}".rstrip() for t in kind.targets.values())
    example = {
        "contacts": 'crm import contacts people.csv --map external_id=Id --map name="Full Name" --map email=E-mail',
        "accounts": "crm import accounts companies.csv --map external_id=Id --map name=Company --map domain=Website",
        "deals": "crm import deals deals.csv --set pipeline_id=PIPELINE_ID --map contact_external_id=PersonId",
        "cases": "crm import cases tickets.jsonl --map contact_external_id=requester --map subject=title",
        "interactions": "crm import interactions activity.csv --map contact_external_id=PersonId "
        "--map type=Activity --map details.nps=Score",
    }[kind_name]

    described = "\n\n".join(
        [
            f"Import {kind_name} from FILE (CSV with a header row, or JSON lines).",
            'A column named like a field fills it; --map FIELD=COLUMN (or --mapping FILE.json, {"FIELD": '
            '"COLUMN", …}) maps others, and --set FIELD=VALUE gives every row a value where its own cell is '
            "empty. An unknown field or column is refused before anything is written. Times are ISO 8601 with "
            "their offset (2025-03-01T09:30:00Z), dates YYYY-MM-DD.",
            f"\b\nFields of {kind_name}:\n{fields}",
            f"\b\nExample:\n  {example}",
        ]
    )

    @import_.command(kind_name, help=described)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN", help="Fill FIELD from COLUMN (repeat).")
    @click.option(
        "--mapping",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help='A JSON file of FIELD → COLUMN, e.g. {"name": "Full Name"}; --map adds to it.',
    )
    @click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A value for rows whose cell is empty.")
    @click.option(
        "--source",
        default="default",
        show_default=True,
        help="The system the rows come from; external ids are unique within it, and rows refer to others "
        "(contact_external_id) imported from the same source.",
    )
    @click.option(
        "--rejects",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Where rejected rows go (default: FILE's name with .rejects, beside it).",
    )
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: from FILE's extension.")
    @click.option("--delimiter", help="The CSV delimiter (default: guessed from the header: , ; tab or |).")
    @click.option("--batch-size", default=2000, show_default=True, help="Rows per transaction.")
    @click.option("--workers", default=1, show_default=True, help="Processes sharing the rows (PostgreSQL only).")
    @click.option("--dry-run", is_flag=True, help="Check every row against the rules; record nothing.")
    def run(
        file: Path,
        maps: tuple[str, ...],
        mapping: Path | None,
        sets: tuple[str, ...],
        source: str,
        rejects: Path | None,
        fmt: str | None,
        delimiter: str | None,
        batch_size: int,
        workers: int,
        dry_run: bool,
    ) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        from commands.config import CommandConfig
        from commands.importing.mapping import MappingError, parse_pairs, read_mapping_file
        from commands.importing.run import ImportFailed, ImportOptions, ImportReport, check, run_import
        from commands.importing.sources import SourceError

        try:
            mapped = {**(read_mapping_file(mapping) if mapping else {}), **parse_pairs(maps, "--map")}
            options = ImportOptions(
                kind_name, file, fmt, mapped, parse_pairs(sets, "--set"), source, rejects, batch_size, workers,
                delimiter, dry_run,
            )  # fmt: skip
            check(options)
        except (MappingError, SourceError) as exc:
            raise click.UsageError(str(exc)) from None

        def summary(report: ImportReport) -> str:
            verb = "would record" if report.dry_run else "recorded"
            text = (
                f"{kind_name} from {report.path.name}: {report.rows:,} rows; {verb} {report.recorded:,} "
                f"({report.events:,} events), skipped {report.skipped:,} imported before, "
                f"rejected {report.rejected:,}; {report.seconds:.1f}s, {report.rows_per_second:,.0f} rows/s"
            )
            if report.positions:
                text += f"; positions {report.positions[0]}-{report.positions[1]}"
            if report.rejects_path:
                text += f"\nrejected rows: {report.rejects_path}"
            return text

        operator = _operator()
        with _container() as container:
            settings = container.settings
            config = CommandConfig(scoring_rules=settings.rules, sla_policy=settings.sla_policy)
            with Progress(
                TextColumn(f"importing {kind_name}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            ) as bar:
                task = bar.add_task("import", total=None, counts="")
                started = time.perf_counter()

                def progress(done: Any) -> None:
                    rate = done.rows / max(time.perf_counter() - started, 1e-9)
                    counts = f"{done.rows:,} rows, {rate:,.0f}/s, {done.skipped:,} skipped, {done.rejected:,} rejected"
                    bar.update(task, completed=done.done, total=done.total, counts=counts)

                try:
                    report = run_import(
                        settings.event_store_url, config, options, operator.actor, progress,
                        container.store if workers == 1 else None,
                    )  # fmt: skip
                except MappingError as exc:
                    raise click.UsageError(str(exc)) from None
                except ImportFailed as failed:
                    if failed.report is not None:
                        click.echo(summary(failed.report))
                    raise click.ClickException(f"the import stopped: {failed}; run it again to carry on") from None
        click.echo(summary(report))
        if report.rejected:
            raise SystemExit(3)


for _kind in ("contacts", "accounts", "deals", "cases", "interactions"):
    _import_command(_kind)


if __name__ == "__main__":
    sys.exit(main())
